//! Deleting an account, with its password: every session ends, the personal data goes
//! (email, password hash, links, unsent mail, the addresses in its audit events), and
//! the username is free for a new registration. The audit log keeps that it happened.

use super::{domain::Username, users};
use crate::{
    error::AppError,
    server::{audit::Event, request::Request},
};

/// `code`: with TOTP on, a current code or an unused recovery code.
pub async fn delete_account(password: String, code: Option<String>) -> Result<(), AppError> {
    let request = Request::current()?;
    let identity = request.require_user()?;
    request.confirm_password(identity, &password, AppError::wrong_password).await?;
    super::mfa::require_code(&request, &identity.user, code.as_deref()).await?;
    let key = Username::throttle_key(&identity.user.username);
    let mut tx = request.state.db.begin().await?;
    users::delete_by_id(&mut tx, &identity.user.id, &key).await?;
    tx.commit().await?;
    request.state.cookies.clear(&request.jar);
    // The event names the account's id, a random string that now points nowhere, and
    // no address or user agent.
    crate::server::audit::record(
        &request.state.db,
        Event::AccountDeleted,
        Some(&identity.user.id),
        None,
        &Default::default(),
    )
    .await;
    tracing::info!(user = %identity.user.id, "account deleted");
    Ok(())
}
