//! The session machinery, in the order a request meets it: the signing keys, the tokens
//! they sign, the cookies that carry them, the middleware that checks them on every
//! request, and the server-side sessions that refresh tokens rotate against.

pub mod cookies;
pub mod keys;
pub mod middleware;
pub mod sessions;
pub mod tokens;
