//! Single-use links: email verification and password reset. A token is 256 bits from
//! the OS RNG, sent only in the mail; the database keeps its SHA-256. Issuing a link
//! supersedes the user's older links of the same purpose, so only the newest works.

use crate::{
    error::AppError,
    server::db::{now, Db},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;

/// Seconds each kind of link is valid (`VERIFY_TOKEN_LIFETIME`, `RESET_TOKEN_LIFETIME`).
#[derive(Clone, Copy, Debug)]
pub struct Lifetimes {
    pub verify_lifetime: i64,
    pub reset_lifetime: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::ResetPassword => "reset_password",
        }
    }
}

/// Why a link was refused, in the words the page uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    Invalid,
    Expired,
    Used,
    Superseded,
}

impl Refused {
    pub fn error(self) -> AppError {
        AppError::invalid_token(match self {
            Refused::Invalid => "this link is invalid; ask for a new one",
            Refused::Expired => "this link has expired; ask for a new one",
            Refused::Used => "this link was already used; ask for a new one",
            Refused::Superseded => "a newer link replaced this one; use the newest, or ask again",
        })
    }
}

/// What a valid link stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redeemed {
    pub user_id: String,
    /// The address a verification link verifies.
    pub email: Option<String>,
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Makes a new link for `user_id`, superseding its older ones of this purpose, inside
/// the caller's transaction; returns the token for the mail.
pub async fn issue(
    conn: &mut sqlx::AnyConnection,
    purpose: Purpose,
    user_id: &str,
    email: Option<&str>,
    lifetime: i64,
) -> Result<String, AppError> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    supersede(&mut *conn, user_id, purpose).await?;
    let now = now();
    sqlx::query(
        "INSERT INTO account_links (token_hash, purpose, user_id, email, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(hash(&token))
    .bind(purpose.as_str())
    .bind(user_id)
    .bind(email)
    .bind(now)
    .bind(now + lifetime)
    .execute(conn)
    .await?;
    Ok(token)
}

/// Every live link of the user's for `purpose` stops working (a newer link, or a new
/// password).
pub async fn supersede(
    db: impl sqlx::Executor<'_, Database = sqlx::Any>,
    user_id: &str,
    purpose: Purpose,
) -> Result<(), AppError> {
    sqlx::query(
        "UPDATE account_links SET superseded_at = $1 \
         WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL AND superseded_at IS NULL",
    )
    .bind(now())
    .bind(user_id)
    .bind(purpose.as_str())
    .execute(db)
    .await?;
    Ok(())
}

/// Spends a link, inside the caller's transaction: one conditional `UPDATE`, so two
/// requests with the same token cannot both succeed.
pub async fn redeem(
    conn: &mut sqlx::AnyConnection,
    purpose: Purpose,
    token: &str,
) -> Result<Result<Redeemed, Refused>, AppError> {
    let now = now();
    let spent = sqlx::query(
        "UPDATE account_links SET used_at = $1 \
         WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND superseded_at IS NULL AND expires_at > $4 \
         RETURNING user_id, email",
    )
    .bind(now)
    .bind(hash(token))
    .bind(purpose.as_str())
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    match spent {
        Some(row) => Ok(Ok(Redeemed { user_id: row.try_get("user_id")?, email: row.try_get("email")? })),
        // Live a moment ago but not spent by us: a concurrent request spent it.
        None => Ok(Err(state(conn, purpose, token).await?.err().unwrap_or(Refused::Used))),
    }
}

/// Whether a link would be accepted now, without spending it (the reset page asks
/// before showing its form).
pub async fn check(db: &Db, purpose: Purpose, token: &str) -> Result<Result<(), Refused>, AppError> {
    let mut conn = db.acquire().await?;
    state(&mut conn, purpose, token).await
}

/// `Ok(())` for a live link, else why it is refused.
async fn state(conn: &mut sqlx::AnyConnection, purpose: Purpose, token: &str) -> Result<Result<(), Refused>, AppError> {
    if token.is_empty() || token.len() > 128 {
        return Ok(Err(Refused::Invalid));
    }
    let row = sqlx::query(
        "SELECT used_at, superseded_at, expires_at FROM account_links WHERE token_hash = $1 AND purpose = $2",
    )
    .bind(hash(token))
    .bind(purpose.as_str())
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else { return Ok(Err(Refused::Invalid)) };
    Ok(if row.try_get::<Option<i64>, _>("used_at")?.is_some() {
        Err(Refused::Used)
    } else if row.try_get::<Option<i64>, _>("superseded_at")?.is_some() {
        Err(Refused::Superseded)
    } else if row.try_get::<i64, _>("expires_at")? <= now() {
        Err(Refused::Expired)
    } else {
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_stored_only_as_its_digest() {
        let digest = hash("abc");
        assert_eq!(digest.len(), 64);
        assert_ne!(digest, "abc");
        assert_eq!(digest, hash("abc"));
    }
}
