//! Password reset: "forgot password" mails a single-use link to an account's verified
//! address; following it sets a new password, signs out every session, and signs this
//! browser in (with TOTP on, after the second factor). The request answers the same, in about the same time, whether or not
//! any account matched.

use super::{
    domain::{EmailAddress, Password, Username},
    links::{self, Purpose},
    users::{self, StoredUser},
};
use crate::{
    error::AppError,
    server::{
        audit::Event,
        guard::throttle::{Blocked, Scope},
        mail::{messages, outbox},
        request::Request,
        session::sessions::{self, Method},
    },
    shared::SignIn,
};
use std::time::Duration;

/// Every answer to "forgot password" takes at least this long, so that mailing a link
/// (a few writes) and finding no account (one read) look alike from outside.
const ANSWER_FLOOR: Duration = Duration::from_millis(300);

/// `login` is a username or an email address. Always `Ok(())` unless the client is
/// throttled or typed nothing.
pub async fn forgot_password(login: String) -> Result<(), AppError> {
    let started = tokio::time::Instant::now();
    let request = Request::current()?;
    let (db, throttle) = (&request.state.db, &request.state.throttle);
    let login = login.trim();
    if login.is_empty() || login.chars().count() > 320 {
        return Err(AppError::invalid("login", "login: enter your username or email address"));
    }
    if let Err(blocked) = throttle.take(db, Scope::ResetRequest, &request.address()).await {
        return Err(request.refused(blocked, None).await);
    }

    for account in matching_accounts(&request, login).await? {
        let Some(email) = account.verified_email.as_deref() else { continue };
        // Past the per-account quota the owner's mailbox is spared, silently: the
        // answer must not change.
        match throttle.take(db, Scope::Mail, &account.user.id).await {
            Err(Blocked::Throttled(_)) => continue,
            Err(Blocked::Failed(error)) => return Err(error),
            Ok(()) => {}
        }
        let lifetime = request.state.links.reset_lifetime;
        let mut tx = db.begin().await?;
        let token = links::issue(&mut tx, Purpose::ResetPassword, &account.user.id, None, lifetime).await?;
        let link = request.state.mailer.link("/reset-password", &token);
        let message = messages::reset_password(email, &account.user.username, &link, lifetime);
        outbox::enqueue(&mut tx, Some(&account.user.id), &message).await?;
        tx.commit().await?;
        request.state.mailer.wake.notify_one();
        request.audit(Event::ResetRequested, Some(&account.user.id), None).await;
    }
    tokio::time::sleep_until(started + ANSWER_FLOOR).await;
    Ok(())
}

async fn matching_accounts(request: &Request, login: &str) -> Result<Vec<StoredUser>, AppError> {
    let db = &request.state.db;
    if login.contains('@') {
        return match EmailAddress::parse(login) {
            Ok(email) => users::find_by_verified_email(db, &email).await,
            Err(_) => Ok(Vec::new()),
        };
    }
    Ok(match Username::parse(login) {
        Ok(name) => users::find_by_name(db, &name).await?.filter(|u| !u.disabled).into_iter().collect(),
        Err(_) => Vec::new(),
    })
}

/// Spends the link and sets the new password. What is cheap comes first: the new
/// password's rules (a typo does not cost the link), then the link itself, counted
/// against the client address like a failed sign-in, and only a working link pays for
/// an argon2 hash. With TOTP on, the new password is set and the sign-in then waits
/// for the second factor (`latch_mfa`, as after a password): the mailbox alone is not
/// the account.
pub async fn reset_password(token: String, new_password: String) -> Result<SignIn, AppError> {
    let request = Request::current()?;
    let state = &request.state;
    let new_password = Password::parse(new_password).map_err(|e| AppError {
        field: Some("new_password".into()),
        message: e.message.replacen("password", "new_password", 1),
        ..e
    })?;
    check_link(&request, &token).await?;
    let hash = state.hasher.hash(new_password).await.map_err(|_| AppError::internal())?;

    let mut tx = state.db.begin().await?;
    let link = match links::redeem(&mut tx, Purpose::ResetPassword, token.trim()).await? {
        Ok(link) => link,
        Err(refused) => return Err(refused.error()),
    };
    let Some(account) = users::find_by_id(&mut *tx, &link.user_id).await?.filter(|u| !u.disabled) else {
        return Err(links::Refused::Invalid.error());
    };
    users::set_password_hash(&mut *tx, &account.user.id, &hash).await?;
    links::supersede(&mut *tx, &account.user.id, Purpose::ResetPassword).await?;
    let revoked = sessions::revoke_all(&mut *tx, &account.user.id).await?;
    // A passkey signs in with no password and no code: one planted by whoever had the
    // account must not outlive the reset that takes it back.
    super::passkeys::remove_all(&mut tx, &account.user.id).await?;
    if let Some(email) = &account.verified_email {
        outbox::enqueue(&mut tx, Some(&account.user.id), &messages::password_was_reset(email, &account.user.username))
            .await?;
    }
    tx.commit().await?;
    state.mailer.wake.notify_one();

    if super::mfa::defer_if_needed(&request, &account.user).await? {
        request.audit(Event::PasswordReset, Some(&account.user.id), None).await;
        tracing::info!(user = %account.user.id, revoked, "password reset; waiting for the second factor");
        return Ok(SignIn::SecondFactor { second_factor: "totp".to_string() });
    }
    // Whoever reset it owns the mailbox, and no second factor is on: a completed
    // sign-in, so failed guesses against the account are forgiven.
    state.throttle.clear(&state.db, Scope::Account, &Username::throttle_key(&account.user.username)).await?;
    let sid = request.sign_in(&account.user, Method::Reset).await?;
    request.audit(Event::PasswordReset, Some(&account.user.id), Some(&sid)).await;
    tracing::info!(user = %account.user.id, revoked, "password reset; every other session signed out");
    Ok(SignIn::User(account.user))
}

/// Whether a reset link still works, for the page that shows its form.
pub async fn check_reset_link(token: String) -> Result<(), AppError> {
    check_link(&Request::current()?, &token).await
}

/// Whether `token` is a live reset link, without spending it. A dead one counts against
/// the client address like a failed sign-in: links cannot be guessed for free.
async fn check_link(request: &Request, token: &str) -> Result<(), AppError> {
    let (db, throttle, address) = (&request.state.db, &request.state.throttle, request.address());
    if let Err(blocked) = throttle.attempt(db, Scope::Address, &address).await {
        return Err(request.refused(blocked, None).await);
    }
    links::check(db, Purpose::ResetPassword, token.trim()).await?.map_err(|refused| refused.error())?;
    throttle.forgive(db, Scope::Address, &address).await
}
