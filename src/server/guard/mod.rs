//! Guards around every request: cross-site refusal, throttling of guessing (with
//! device cookies for browsers that signed in before), and the protective response
//! headers.

pub mod client;
pub mod csrf;
pub mod device;
pub mod headers;
pub mod throttle;
