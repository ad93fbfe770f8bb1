//! The users table.

use super::{
    db::{now, Db},
    domain::Username,
};
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
    let row = sqlx::query(
        "SELECT id, username, password_hash, disabled_at FROM users WHERE username_key = $1",
    )
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
