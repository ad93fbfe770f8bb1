//! The second factor's flows: setting TOTP up and turning it on (with the password and
//! a first code; ten recovery codes), turning it off, the code every change that could
//! hand the account to someone else asks for (`require_code`), and the second step of
//! a sign-in, which the password step (or a password reset) leaves pending behind a
//! `latch_mfa` cookie (signed, five minutes, single use: a row in `mfa_challenges`),
//! never a session. Every code tried spends the account's failure budget.

use super::{
    notices::{self, Notice},
    totp, users,
};
use crate::{
    error::AppError,
    server::{
        audit::Event,
        guard::budget::Budget,
        request::Request,
        session::{sessions::Method, tokens::TokenType},
    },
    shared::{RecoveryCodes, TotpPending, TotpSetup, User},
};

/// Recovery codes left at which the owner is told they are running low.
const FEW_RECOVERY_CODES: i64 = 3;

/// The pending secret, started now if there is none. One being scanned is kept: only
/// `new_key` (the owner asking for another) replaces it. TOTP is not on until the
/// password and a first correct code.
pub async fn setup(new_key: bool) -> Result<TotpSetup, AppError> {
    let request = Request::current()?;
    let identity = request.require_user()?;
    let db = &request.state.db;
    let pending = match totp::stored(db, &identity.user.id).await? {
        Some(stored) if stored.enabled => {
            return Err(AppError::invalid("code", "code: two-factor sign-in is already on"));
        }
        Some(stored) if !new_key => stored.secret,
        _ => totp::begin_setup(db, &identity.user.id).await?,
    };
    let uri = totp::uri(&pending, &identity.user.username)?;
    Ok(TotpSetup { secret: pending, uri })
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

/// Turns TOTP on with the password and a first correct code (which counts as used):
/// a borrowed session alone cannot lock the owner out behind a second factor.
pub async fn enable(code: String, password: String) -> Result<RecoveryCodes, AppError> {
    let request = Request::current()?;
    let identity = request.require_user()?;
    let db = &request.state.db;
    if !totp::stored(db, &identity.user.id).await?.is_some_and(|s| !s.enabled) {
        return Err(AppError::invalid("code", "code: set two-factor sign-in up first"));
    }
    request.confirm_password(identity, &password, AppError::wrong_password).await?;
    // The pending secret's code: no recovery code exists yet.
    try_code(&request, &identity.user, totp::accept_code(db, &identity.user.id, &identity.user.username, &code))
        .await?;
    let recovery_codes = totp::enable(db, &identity.user.id).await?;
    request.audit(Event::TotpEnabled, Some(&identity.user.id), Some(&identity.sid)).await;
    notices::tell_owner(&request, &identity.user.id, Notice::TotpOn).await;
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
    notices::tell_owner(&request, &identity.user.id, Notice::TotpOff).await;
    Ok(())
}

/// With TOTP on, a change that could hand the account to someone else also needs a
/// current code or an unused recovery code (`400` naming `code`). Each one tried
/// spends the account's failure budget, as at sign-in.
pub async fn require_code(request: &Request, user: &User, code: Option<&str>) -> Result<(), AppError> {
    if !totp::is_enabled(&request.state.db, &user.id).await? {
        return Ok(());
    }
    let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()) else {
        return Err(AppError::invalid_code()); // nothing tried, nothing counted
    };
    try_code(request, user, second_factor(request, user, code)).await
}

/// A code given to confirm a change, checked by `accepted` (not run until the budget
/// has paid for it): spends the account's failure budget, given back if it was right;
/// a wrong one is audited and `400` naming `code`.
async fn try_code(
    request: &Request,
    user: &User,
    accepted: impl std::future::Future<Output = Result<bool, AppError>>,
) -> Result<(), AppError> {
    let budget = Budget::of(request, Some(&user.id), &user.username);
    budget.spend(request).await?;
    if !accepted.await? {
        let session = request.identity().map(|i| i.sid.clone());
        request.audit(Event::CodeCheckFailed, Some(&user.id), session.as_deref()).await;
        return Err(AppError::invalid_code());
    }
    budget.refund(request).await
}

/// A current TOTP code or an unused recovery code, accepted once. When a recovery code
/// leaves only a few, the owner is told.
async fn second_factor(request: &Request, user: &User, code: &str) -> Result<bool, AppError> {
    let db = &request.state.db;
    if totp::accept_code(db, &user.id, &user.username, code).await? {
        return Ok(true);
    }
    if !totp::spend_recovery_code(db, &user.id, code).await? {
        return Ok(false);
    }
    let left = totp::recovery_codes_left(db, &user.id).await?;
    if left <= FEW_RECOVERY_CODES {
        notices::tell_owner(request, &user.id, Notice::RecoveryCodesLow { left }).await;
    }
    Ok(true)
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
/// spent code, `401` for a missing or expired cookie, `429` past the account's budget
/// (which the owner's device cookie does not share with strangers).
pub async fn login_totp(code: String) -> Result<User, AppError> {
    let request = Request::current()?;
    let db = &request.state.db;
    let unauthorized = || AppError::new(crate::error::ErrorCode::Unauthorized, "sign in with your password first");
    let cookie = request.jar.get(&request.state.cookies.mfa_name()).ok_or_else(unauthorized)?;
    let claims = request.state.tokens.verify(cookie.value(), TokenType::Mfa).map_err(|_| unauthorized())?;
    if !totp::challenge_open(db, &claims.sid, &claims.sub).await? {
        return Err(unauthorized());
    }
    let stored = users::find_by_id(db, &claims.sub).await?.filter(|u| !u.disabled).ok_or_else(unauthorized)?;
    let budget = Budget::of(&request, Some(&stored.user.id), &stored.user.username);
    budget.spend(&request).await?;
    if !second_factor(&request, &stored.user, &code).await? {
        request.audit(Event::LoginFailed, Some(&stored.user.id), None).await;
        return Err(AppError { status: Some(401), ..AppError::invalid_code() });
    }
    if !totp::close_challenge(db, &claims.sid).await? {
        budget.refund(&request).await?;
        return Err(unauthorized()); // spent by a parallel request a moment ago
    }
    request.state.cookies.set_mfa(&request.jar, String::new(), 0);
    let sid = request.sign_in(&stored.user, Method::PasswordTotp).await?;
    budget.settle(&request).await?;
    request.audit(Event::LoginSucceeded, Some(&stored.user.id), Some(&sid)).await;
    tracing::info!(user = %stored.user.id, "logged in with a second factor");
    Ok(stored.user)
}
