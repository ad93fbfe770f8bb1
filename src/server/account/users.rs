//! The users table.

use super::domain::Username;
use crate::server::db::{now, Db};
use crate::{error::AppError, shared::User};
use sqlx::Row;

/// A user as stored, with what sign-in needs.
pub struct StoredUser {
    pub user: User,
    pub password_hash: String,
    pub disabled: bool,
}

/// Adds a user; a name already taken (in any case) is a `409`, not a database error.
pub async fn create(db: &Db, username: &Username, password_hash: &str) -> Result<User, AppError> {
    let id = uuid::Uuid::new_v4().to_string();
    let inserted = sqlx::query(
        "INSERT INTO users (id, username, username_key, password_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (username_key) DO NOTHING",
    )
    .bind(&id)
    .bind(username.as_str())
    .bind(username.key())
    .bind(password_hash)
    .bind(now())
    .execute(db)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(AppError::username_taken());
    }
    Ok(User { id, username: username.as_str().to_string() })
}

pub async fn find_by_name(db: &Db, username: &Username) -> Result<Option<StoredUser>, AppError> {
    let row = sqlx::query("SELECT id, username, password_hash, disabled_at FROM users WHERE username_key = $1")
        .bind(username.key())
        .fetch_optional(db)
        .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(StoredUser {
        user: User { id: row.try_get("id")?, username: row.try_get("username")? },
        password_hash: row.try_get("password_hash")?,
        disabled: row.try_get::<Option<i64>, _>("disabled_at")?.is_some(),
    }))
}

pub async fn password_hash(db: &Db, user_id: &str) -> Result<Option<String>, AppError> {
    let row = sqlx::query("SELECT password_hash FROM users WHERE id = $1 AND disabled_at IS NULL")
        .bind(user_id)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|r| r.try_get("password_hash")).transpose()?)
}

pub async fn set_password_hash(db: &Db, user_id: &str, password_hash: &str) -> Result<(), AppError> {
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(password_hash)
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(())
}

/// Disables an account: it can no longer sign in, and every session of it is revoked
/// (its access tokens die with their short lifetime, at the next refresh at the
/// latest). Returns whether there was such an account.
pub async fn disable(db: &Db, username: &Username) -> Result<bool, AppError> {
    let now = now();
    let updated = sqlx::query("UPDATE users SET disabled_at = $1 WHERE username_key = $2 AND disabled_at IS NULL")
        .bind(now)
        .bind(username.key())
        .execute(db)
        .await?;
    sqlx::query(
        "UPDATE sessions SET revoked_at = $1 WHERE revoked_at IS NULL \
         AND user_id IN (SELECT id FROM users WHERE username_key = $2)",
    )
    .bind(now)
    .bind(username.key())
    .execute(db)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Deletes an account and (by the foreign key) its sessions.
pub async fn delete(db: &Db, username: &Username) -> Result<bool, AppError> {
    let user =
        sqlx::query("SELECT id FROM users WHERE username_key = $1").bind(username.key()).fetch_optional(db).await?;
    let Some(user) = user else { return Ok(false) };
    let id: String = user.try_get("id")?;
    // Explicitly too: SQLite enforces foreign keys only when asked.
    sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(&id).execute(db).await?;
    sqlx::query("DELETE FROM users WHERE id = $1").bind(&id).execute(db).await?;
    Ok(true)
}
