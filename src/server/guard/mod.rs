//! Guards around every request: cross-site refusal, throttling of guessing, and the
//! protective response headers.

pub mod csrf;
pub mod headers;
pub mod throttle;
