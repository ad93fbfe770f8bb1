//! Device cookies, after OWASP's "Slow down online guessing attacks with device
//! cookies". A browser that signs in to an account gets a signed cookie naming that
//! account. Signing in again with it counts failures against that device alone, so an
//! attacker hammering the account, or a neighbour behind the same address, cannot lock
//! the owner's browser out; every other client is throttled per account and per address,
//! the same for every name, known or not.

use crate::server::{
    request::Request,
    session::tokens::{Claims, TokenType},
    AppState,
};
use tower_cookies::Cookies;

/// The device id a request's device cookie names, if the cookie is genuine, current and
/// was issued to `user_id`'s account.
pub fn trusted_for(request: &Request, user_id: &str) -> Option<String> {
    trusted(&request.state, &request.jar, user_id).map(|claims| claims.sid)
}

fn trusted(state: &AppState, jar: &Cookies, user_id: &str) -> Option<Claims> {
    let cookie = jar.get(&state.cookies.device_name())?;
    let claims = state.tokens.verify(cookie.value(), TokenType::Device).ok()?;
    (claims.sub == user_id).then_some(claims)
}

/// After a successful sign-in: (re)issues this browser's device cookie for `user_id`,
/// keeping the device id it already had for that account.
pub fn remember(request: &Request, user_id: &str) {
    let device = trusted_for(request, user_id).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    issue(&request.state, &request.jar, user_id, &device);
}

/// When a session refreshes: the device cookie it came with lives on as long as the
/// session does, so a long-lived session keeps its owner's exemption. Re-signed only
/// once it is past half its life (a refresh comes every few minutes; the cookie lasts
/// as long as a refresh token), and never with a new device id: only a sign-in makes
/// one (a stolen refresh token must not mint fresh budgets).
pub fn renew(state: &AppState, jar: &Cookies, user_id: &str) {
    let Some(claims) = trusted(state, jar, user_id) else { return };
    let now = crate::server::db::now();
    if now - claims.iat >= (claims.exp - claims.iat) / 2 {
        issue(state, jar, user_id, &claims.sid);
    }
}

fn issue(state: &AppState, jar: &Cookies, user_id: &str, device: &str) {
    let now = crate::server::db::now();
    let jti = uuid::Uuid::new_v4().to_string();
    match state.tokens.issue(TokenType::Device, user_id, device, &jti, None, now) {
        Ok(token) => state.cookies.set_device(jar, token),
        // Not fatal: without it the browser is throttled like any other client.
        Err(_) => tracing::error!("signing a device cookie failed"),
    }
}
