//! The account's email address: set at registration or on `/profile` (with the
//! password, and a code with TOTP on), verified by a single-use link, its verification mailed again on request.
//! No answer depends on whether another account has the same address.

use super::{
    domain::EmailAddress,
    links::{self, Purpose},
    users,
};
use crate::{
    error::AppError,
    server::{
        audit::Event,
        guard::throttle::Scope,
        mail::{messages, outbox},
        request::Request,
    },
    shared::{Account, EmailChange, User},
};

/// Gives `user` the unverified address `email` and mails it a verification link, in one
/// transaction; `told` is the previous verified address, which hears of the change.
pub async fn set_unverified(
    request: &Request,
    user: &User,
    email: &EmailAddress,
    told: Option<&str>,
) -> Result<(), AppError> {
    let state = &request.state;
    let mut tx = state.db.begin().await?;
    users::set_email(&mut tx, &user.id, email).await?;
    // Reset links already in the old mailbox stop working with it.
    links::supersede(&mut *tx, &user.id, Purpose::ResetPassword).await?;
    let token =
        links::issue(&mut tx, Purpose::VerifyEmail, &user.id, Some(email.as_str()), state.links.verify_lifetime)
            .await?;
    let link = state.mailer.link("/verify-email", &token);
    let message = messages::verify_email(email.as_str(), &user.username, &link, state.links.verify_lifetime);
    outbox::enqueue(&mut tx, Some(&user.id), &message).await?;
    if let Some(old) = told.filter(|old| !old.eq_ignore_ascii_case(email.as_str())) {
        outbox::enqueue(&mut tx, Some(&user.id), &messages::email_changed(old, &user.username)).await?;
    }
    tx.commit().await?;
    state.mailer.wake.notify_one();
    Ok(())
}

pub async fn account() -> Result<Account, AppError> {
    let request = Request::current()?;
    let identity = request.require_user()?;
    users::account(&request.state.db, &identity.user.id).await?.ok_or_else(AppError::unauthorized)
}

/// A new address, after the password (and, with TOTP on, a code: a new address is a
/// way to reset the password): unverified until its link is followed.
pub async fn change_email(password: String, email: String, code: Option<String>) -> Result<EmailChange, AppError> {
    let request = Request::current()?;
    let identity = request.require_user()?;
    let email = EmailAddress::parse(&email)?;
    request.confirm_password(identity, &password, AppError::wrong_password).await?;
    super::mfa::require_code(&request, &identity.user, code.as_deref()).await?;
    // Each change mails the new address: counted like "send the link again", so an
    // account cannot be used to flood someone else's mailbox.
    let throttle = &request.state.throttle;
    if let Err(blocked) = throttle.take(&request.state.db, Scope::OwnMail, &identity.user.id).await {
        return Err(request.refused(blocked, Some(&identity.user.id)).await);
    }
    let previous = users::find_by_id(&request.state.db, &identity.user.id).await?.and_then(|u| u.verified_email);
    set_unverified(&request, &identity.user, &email, previous.as_deref()).await?;
    request.audit(Event::EmailChanged, Some(&identity.user.id), Some(&identity.sid)).await;
    tracing::info!(user = %identity.user.id, "email address changed; verification sent");
    Ok(EmailChange { email: email.as_str().to_string(), email_verified: false })
}

/// "Send the link again": a fresh link (the old one stops working), at most
/// `THROTTLE_RESET_MAILS` an hour, counted apart from the reset mails anyone may ask
/// for: strangers cannot spend the owner's own budget.
pub async fn resend_verification() -> Result<(), AppError> {
    let request = Request::current()?;
    let identity = request.require_user()?;
    let (db, throttle) = (&request.state.db, &request.state.throttle);
    let account = users::account(db, &identity.user.id).await?.ok_or_else(AppError::unauthorized)?;
    let email = match (account.email, account.email_verified) {
        (Some(email), false) => EmailAddress::parse(&email)?,
        (Some(_), true) => return Err(AppError::invalid("email", "email: your address is already verified")),
        (None, _) => return Err(AppError::invalid("email", "email: add an address first")),
    };
    if let Err(blocked) = throttle.take(db, Scope::OwnMail, &identity.user.id).await {
        return Err(request.refused(blocked, Some(&identity.user.id)).await);
    }
    set_unverified(&request, &identity.user, &email, None).await?;
    request.audit(Event::VerificationSent, Some(&identity.user.id), Some(&identity.sid)).await;
    Ok(())
}

/// Follows a verification link: needs no signed-in browser. The address is verified
/// only if it is still the account's.
pub async fn verify_email(token: String) -> Result<(), AppError> {
    let request = Request::current()?;
    let mut tx = request.state.db.begin().await?;
    let link = match links::redeem(&mut tx, Purpose::VerifyEmail, token.trim()).await? {
        Ok(link) => link,
        Err(refused) => return Err(refused.error()),
    };
    let email = link.email.unwrap_or_default();
    if !users::mark_email_verified(&mut tx, &link.user_id, &email).await? {
        // The account changed its address (or went) since this link was sent.
        return Err(links::Refused::Superseded.error());
    }
    tx.commit().await?;
    request.audit(Event::EmailVerified, Some(&link.user_id), None).await;
    tracing::info!(user = %link.user_id, "email address verified");
    Ok(())
}
