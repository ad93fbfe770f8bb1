//! What `/profile` shows from the database, read together: the account (its address,
//! TOTP on or pending, the passkeys counted) in one query and the passkey list in a
//! second, on one connection. Each query is a round trip to the database's worker
//! thread; three separate server functions made the page cost three of them.

use super::{passkeys, totp, users};
use crate::{error::AppError, server::request::Request, shared::ProfileData};

pub async fn load() -> Result<ProfileData, AppError> {
    let request = Request::current()?;
    let identity = request.require_user()?;
    let mut conn = request.state.db.acquire().await?;
    let (account, pending) =
        users::account_and_pending_totp(&mut *conn, &identity.user.id).await?.ok_or_else(AppError::unauthorized)?;
    let passkeys = passkeys::list_of(&mut *conn, &identity.user.id).await?;
    let pending_totp = pending.map(|secret| totp::pending(secret, &identity.user.username)).transpose()?;
    Ok(ProfileData { account, pending_totp, passkeys })
}
