//! What the server functions do: register, log in, log out. Each reads the request
//! from Leptos' context (the axum request parts and the app state), so the functions in
//! `api.rs` stay one line each.

use super::{
    domain::{EmailAddress, Password, Username},
    email,
    notices::Notice,
    users,
};
use crate::server::{
    audit::{self, Event},
    guard::{budget::Budget, throttle::Scope},
    request::Request,
    session::{
        middleware::Identity,
        sessions::{self, Method},
    },
};
use crate::{
    error::AppError,
    shared::{AuditEntry, Revoked, SessionInfo, SignIn, User},
};
use axum::http::request::Parts;
use leptos::prelude::use_context;

/// Creates an account, with an optional email address: stored unverified, and a
/// verification link mailed to it. Each attempt that gets as far as hashing counts
/// against the client address's registrations, before the hash.
pub async fn register(username: String, password: String, email: Option<String>) -> Result<User, AppError> {
    let request = Request::current()?;
    let (db, throttle) = (&request.state.db, &request.state.throttle);
    let username = Username::parse(&username)?;
    let password = Password::parse(password)?;
    let email = email.filter(|e| !e.trim().is_empty()).map(|e| EmailAddress::parse(&e)).transpose()?;
    if let Err(blocked) = throttle.attempt(db, Scope::Registration, &request.address()).await {
        return Err(request.refused(blocked, None).await);
    }
    let hash = request.state.hasher.hash(password).await.map_err(|_| AppError::internal())?;
    let user = users::create(db, &username, &hash).await?;
    if let Some(email) = &email {
        email::set_unverified(&request, &user, email, None).await?;
    }
    let sid = request.sign_in(&user, Method::Password).await?;
    request.audit(Event::Registered, Some(&user.id), Some(&sid)).await;
    tracing::info!(user = %user.id, "registered");
    Ok(user)
}

/// Signs in. The attempt spends the account's failure budget (`guard::budget`): a
/// browser holding this account's device cookie its own, every other client the
/// account's and the address's, the same way for every name, real or not, so the
/// throttle tells nothing about who exists. A right password clears nothing while a
/// second factor is still to come.
pub async fn login(username: String, password: String) -> Result<SignIn, AppError> {
    let request = Request::current()?;
    let db = &request.state.db;
    if password.chars().count() > 1024 {
        // Refused before hashing: a megabyte password is a denial of service, not a login.
        return Err(AppError::invalid("password", "password: at most 1024 characters"));
    }
    // A name that breaks the rules cannot exist: it fails like an unknown user, at the
    // same cost, and is counted under its plain lower-case form.
    let stored = match Username::parse(&username) {
        Ok(name) => users::find_by_name(db, &name).await?.filter(|s| !s.disabled),
        Err(_) => None,
    };
    let budget = Budget::of(&request, stored.as_ref().map(|s| s.user.id.as_str()), &username);
    budget.spend(&request).await?;
    let known_id = stored.as_ref().map(|s| s.user.id.clone());
    let (user, hash) = match stored {
        Some(s) => (Some(s.user), Some(s.password_hash)),
        None => (None, None),
    };
    let matches = request.state.hasher.verify(&password, hash).await.map_err(|_| AppError::internal())?;
    let Some(user) = user.filter(|_| matches) else {
        request.audit(Event::LoginFailed, known_id.as_deref(), None).await;
        tracing::info!("login failed");
        return Err(AppError::invalid_credentials());
    };
    if super::mfa::defer_if_needed(&request, &user).await? {
        budget.refund(&request).await?;
        tracing::info!(user = %user.id, "password accepted; waiting for the second factor");
        return Ok(SignIn::SecondFactor { second_factor: "totp".to_string() });
    }
    let sid = request.sign_in(&user, Method::Password).await?;
    budget.settle(&request).await?;
    request.audit(Event::LoginSucceeded, Some(&user.id), Some(&sid)).await;
    tracing::info!(user = %user.id, "logged in");
    Ok(SignIn::User(user))
}

/// Never fails for an anonymous caller: the cookies are cleared either way.
pub async fn logout() -> Result<(), AppError> {
    let request = Request::current()?;
    request.state.cookies.clear(&request.jar);
    if let Some(identity) = request.identity() {
        sessions::revoke(&request.state.db, &identity.sid).await?;
        request.audit(Event::LoggedOut, Some(&identity.user.id), Some(&identity.sid)).await;
        tracing::info!(user = %identity.user.id, "logged out");
    }
    Ok(())
}

/// The caller's live sessions: where else they are signed in.
pub async fn list_sessions() -> Result<Vec<SessionInfo>, AppError> {
    let request = Request::current()?;
    let identity = request.require_user()?;
    sessions::list_live(&request.state.db, &identity.user.id, &identity.sid).await
}

/// Ends one of the caller's sessions (this one too, which signs this browser out).
/// `404` for an id that is not the caller's live session: nothing happens.
pub async fn revoke_session(id: String) -> Result<(), AppError> {
    let request = Request::current()?;
    let identity = request.require_user()?;
    let id = id.trim();
    if !sessions::revoke_owned(&request.state.db, &identity.user.id, id).await? {
        return Err(AppError::not_found("no such session"));
    }
    if id == identity.sid {
        request.state.cookies.clear(&request.jar);
    }
    request.audit(Event::SessionRevoked, Some(&identity.user.id), Some(id)).await;
    Ok(())
}

/// Ends every session of the caller's but this one.
pub async fn sign_out_others() -> Result<Revoked, AppError> {
    let request = Request::current()?;
    let identity = request.require_user()?;
    let revoked = sessions::revoke_others(&request.state.db, &identity.user.id, &identity.sid).await?;
    request.audit(Event::SignedOutOthers, Some(&identity.user.id), Some(&identity.sid)).await;
    Ok(Revoked { revoked })
}

/// Ends every session of the caller's, this one included, and clears the cookies.
pub async fn sign_out_everywhere() -> Result<(), AppError> {
    let request = Request::current()?;
    let identity = request.require_user()?;
    sessions::revoke_everyone(&request.state.db, Some(&identity.user.id)).await?;
    request.state.cookies.clear(&request.jar);
    request.audit(Event::SignedOutEverywhere, Some(&identity.user.id), Some(&identity.sid)).await;
    Ok(())
}

/// Changes the caller's password after checking the current one, and signs out every
/// other session (a stolen session dies with the old password). Returns how many.
pub async fn change_password(
    current_password: String,
    new_password: String,
    code: Option<String>,
) -> Result<u64, AppError> {
    let request = Request::current()?;
    let identity = request.require_user()?;
    let db = &request.state.db;
    let new_password = Password::parse(new_password).map_err(|e| AppError {
        field: Some("new_password".into()),
        message: e.message.replacen("password", "new_password", 1),
        ..e
    })?;
    let not_yours = || AppError::invalid("current_password", "current_password: that is not your password");
    request.confirm_password(identity, &current_password, not_yours).await?;
    super::mfa::require_code(&request, &identity.user, code.as_deref()).await?;
    let hash = request.state.hasher.hash(new_password).await.map_err(|_| AppError::internal())?;
    // The new password also voids every reset link still in a mailbox.
    users::set_password_hash(db, &identity.user.id, &hash).await?;
    super::links::supersede(db, &identity.user.id, super::links::Purpose::ResetPassword).await?;
    let others = sessions::revoke_others(db, &identity.user.id, &identity.sid).await?;
    request.audit(Event::PasswordChanged, Some(&identity.user.id), Some(&identity.sid)).await;
    super::notices::tell_owner(&request, &identity.user.id, Notice::PasswordChanged).await;
    tracing::info!(user = %identity.user.id, others, "password changed; other sessions revoked");
    Ok(others)
}

/// The caller's own recent authentication events.
pub async fn recent_events() -> Result<Vec<AuditEntry>, AppError> {
    let request = Request::current()?;
    let identity = request.require_user()?;
    audit::recent(&request.state.db, &identity.user.id, 20).await
}

/// The user of this request, as the middleware found it: no database read.
pub fn current_user() -> Option<User> {
    use_context::<Parts>().and_then(|parts| parts.extensions.get::<Identity>().map(|i| i.user.clone()))
}
