//! The second factor's flows: setting TOTP up and turning it on (with ten recovery
//! codes), turning it off, and the second step of a sign-in, which the password step
//! leaves pending behind a `latch_mfa` cookie (signed, five minutes, single use: a row
//! in `mfa_challenges`), never a session.

use super::{domain::Username, totp, users};
use crate::{
    error::AppError,
    server::{
        audit::Event,
        guard::throttle::Scope,
        request::Request,
        session::{sessions::Method, tokens::TokenType},
    },
    shared::{RecoveryCodes, TotpPending, TotpSetup, User},
};

/// A new pending secret; TOTP is not on until a first correct code.
pub async fn setup() -> Result<TotpSetup, AppError> {
    let request = Request::current()?;
    let identity = request.require_user()?;
    let secret = totp::begin_setup(&request.state.db, &identity.user.id).await?;
    let uri = totp::uri(&secret, &identity.user.username)?;
    Ok(TotpSetup { secret, uri })
}

/// The pending setup, with its QR code, for `/profile`; `None` when there is none.
pub async fn pending() -> Result<Option<TotpPending>, AppError> {
    let request = Request::current()?;
    let identity = request.require_user()?;
    let Some(stored) = totp::stored(&request.state.db, &identity.user.id).await?.filter(|s| !s.enabled) else {
        return Ok(None);
    };
    totp::pending(stored.secret, &identity.user.username).map(Some)
}

/// Turns TOTP on with a first correct code (which counts as used).
pub async fn enable(code: String) -> Result<RecoveryCodes, AppError> {
    let request = Request::current()?;
    let identity = request.require_user()?;
    let db = &request.state.db;
    if !totp::stored(db, &identity.user.id).await?.is_some_and(|s| !s.enabled) {
        return Err(AppError::invalid("code", "code: set two-factor sign-in up first"));
    }
    if !totp::accept_code(db, &identity.user.id, &identity.user.username, &code).await? {
        return Err(AppError::invalid_code());
    }
    let recovery_codes = totp::enable(db, &identity.user.id).await?;
    request.audit(Event::TotpEnabled, Some(&identity.user.id), Some(&identity.sid)).await;
    Ok(RecoveryCodes { recovery_codes })
}

/// The cookie that carries freshly made recovery codes across a plain form's redirect
/// to the page that shows them, once (HttpOnly, two minutes, read and cleared).
const CODES_COOKIE: &str = "latch_recovery_codes";

pub fn carry_codes(request: &Request, codes: &[String]) {
    let cookie = tower_cookies::Cookie::build((CODES_COOKIE, codes.join(".")))
        .http_only(true)
        .secure(request.state.cookies.secure)
        .same_site(tower_cookies::cookie::SameSite::Strict)
        .path("/profile")
        .max_age(tower_cookies::cookie::time::Duration::seconds(120))
        .build();
    request.jar.add(cookie);
}

/// The recovery codes a plain form's redirect carried here, once.
pub fn codes_carried() -> Result<Option<Vec<String>>, AppError> {
    let request = Request::current()?;
    request.require_user()?;
    let Some(cookie) = request.jar.get(CODES_COOKIE) else { return Ok(None) };
    let codes: Vec<String> = cookie.value().split('.').filter(|c| !c.is_empty()).map(str::to_string).collect();
    let gone = tower_cookies::Cookie::build((CODES_COOKIE, ""))
        .path("/profile")
        .max_age(tower_cookies::cookie::time::Duration::ZERO)
        .build();
    request.jar.add(gone);
    Ok(Some(codes).filter(|c| !c.is_empty()))
}

/// Turns TOTP off, with the password and a code.
pub async fn disable(password: String, code: String) -> Result<(), AppError> {
    let request = Request::current()?;
    let identity = request.require_user()?;
    request.confirm_password(identity, &password, AppError::wrong_password).await?;
    require_code(&request, &identity.user, Some(&code)).await?;
    totp::disable(&request.state.db, &identity.user.id).await?;
    request.audit(Event::TotpDisabled, Some(&identity.user.id), Some(&identity.sid)).await;
    Ok(())
}

/// With TOTP on, a change to the account also needs a code (`400` naming `code`).
pub async fn require_code(request: &Request, user: &User, code: Option<&str>) -> Result<(), AppError> {
    let db = &request.state.db;
    if !totp::is_enabled(db, &user.id).await? {
        return Ok(());
    }
    match code.map(str::trim).filter(|c| !c.is_empty()) {
        Some(code) if totp::accept_any(db, &user.id, &user.username, code).await? => Ok(()),
        _ => Err(AppError::invalid_code()),
    }
}

/// After a correct password: with TOTP on, the sign-in waits for its second step.
/// Returns whether it does (then only `latch_mfa` is set).
pub async fn defer_if_needed(request: &Request, user: &User) -> Result<bool, AppError> {
    if !totp::is_enabled(&request.state.db, &user.id).await? {
        return Ok(false);
    }
    let challenge =
        totp::open_challenge(&request.state.db, &user.id, crate::server::session::tokens::MFA_LIFETIME).await?;
    let now = crate::server::db::now();
    let jti = uuid::Uuid::new_v4().to_string();
    let token = request.state.tokens.issue(TokenType::Mfa, &user.id, &challenge, &jti, None, now).map_err(|_| {
        tracing::error!("signing a latch_mfa token failed");
        AppError::internal()
    })?;
    request.state.cookies.set_mfa(&request.jar, token, crate::server::session::tokens::MFA_LIFETIME);
    Ok(true)
}

/// The second step: a current TOTP code or an unused recovery code, with the
/// `latch_mfa` cookie of the password step. `401` `invalid_code` for a wrong, reused or
/// spent code, `401` for a missing or expired cookie, `429` past the account's limit.
pub async fn login_totp(code: String) -> Result<User, AppError> {
    let request = Request::current()?;
    let (db, throttle) = (&request.state.db, &request.state.throttle);
    let unauthorized = || AppError::new(crate::error::ErrorCode::Unauthorized, "sign in with your password first");
    let cookie = request.jar.get(&request.state.cookies.mfa_name()).ok_or_else(unauthorized)?;
    let claims = request.state.tokens.verify(cookie.value(), TokenType::Mfa).map_err(|_| unauthorized())?;
    if !totp::challenge_open(db, &claims.sid, &claims.sub).await? {
        return Err(unauthorized());
    }
    let stored = users::find_by_id(db, &claims.sub).await?.filter(|u| !u.disabled).ok_or_else(unauthorized)?;
    let account = Username::throttle_key(&stored.user.username);
    if let Err(error) = throttle.check(db, Scope::Account, &account).await {
        throttle.record(db, Scope::Account, &account).await?;
        return Err(request.audit_throttled(error, Some(&stored.user.id)).await);
    }
    if !totp::accept_any(db, &stored.user.id, &stored.user.username, &code).await? {
        throttle.record(db, Scope::Account, &account).await?;
        request.audit(Event::LoginFailed, Some(&stored.user.id), None).await;
        return Err(AppError { status: Some(401), ..AppError::invalid_code() });
    }
    if !totp::close_challenge(db, &claims.sid).await? {
        return Err(unauthorized()); // spent by a parallel request a moment ago
    }
    throttle.clear(db, Scope::Account, &account).await?;
    request.state.cookies.set_mfa(&request.jar, String::new(), 0);
    let sid = request.sign_in(&stored.user, Method::PasswordTotp).await?;
    request.audit(Event::LoginSucceeded, Some(&stored.user.id), Some(&sid)).await;
    tracing::info!(user = %stored.user.id, "logged in with a second factor");
    Ok(stored.user)
}
