//! Telling the owner. After each change that could hand the account to someone else
//! (a passkey added, TOTP turned on or off, a new password, recovery codes running
//! low) the account's verified address hears of it, so a takeover attempt is seen.
//! Email changes and resets tell the owner where they happen (`email`, `reset`).

use super::users;
use crate::server::{
    mail::{messages, outbox},
    request::Request,
};

pub enum Notice<'a> {
    PasskeyAdded { name: &'a str },
    TotpOn,
    TotpOff,
    PasswordChanged,
    RecoveryCodesLow { left: i64 },
}

/// Mails the notice to the account's verified address, if it has one. Never the
/// request's failure: the change has happened; a notice that cannot be queued is
/// logged.
pub async fn tell_owner(request: &Request, user_id: &str, notice: Notice<'_>) {
    if let Err(error) = queue(request, user_id, notice).await {
        tracing::warn!(user = %user_id, error = %error.message, "a notice to the owner was not queued");
    }
}

async fn queue(request: &Request, user_id: &str, notice: Notice<'_>) -> Result<(), crate::error::AppError> {
    let state = &request.state;
    let Some(account) = users::find_by_id(&state.db, user_id).await? else { return Ok(()) };
    let Some(to) = account.verified_email.as_deref() else { return Ok(()) };
    let name = &account.user.username;
    let message = match notice {
        Notice::PasskeyAdded { name: key } => messages::passkey_added(to, name, key),
        Notice::TotpOn => messages::totp_turned(to, name, true),
        Notice::TotpOff => messages::totp_turned(to, name, false),
        Notice::PasswordChanged => messages::password_changed(to, name),
        Notice::RecoveryCodesLow { left } => messages::recovery_codes_low(to, name, left),
    };
    let mut conn = state.db.acquire().await?;
    outbox::enqueue(&mut conn, Some(user_id), &message).await?;
    state.mailer.wake.notify_one();
    Ok(())
}
