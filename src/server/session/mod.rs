//! The session machinery, in the order a request meets it: the signing keys, the tokens
//! they sign, the cookies that carry them, the middleware that checks them on every
//! request, the server-side sessions that refresh tokens rotate against, and the
//! revocations every instance learns within seconds.

pub mod cookies;
pub mod keys;
pub mod middleware;
pub mod revocation;
pub mod sessions;
pub mod tokens;
