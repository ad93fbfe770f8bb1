//! Guards around every request: cross-site refusal, throttling of guessing (one
//! failure budget per account, with device cookies for browsers that signed in
//! before), and the protective response headers.

pub mod budget;
pub mod client;
pub mod csrf;
pub mod device;
pub mod headers;
pub mod throttle;
