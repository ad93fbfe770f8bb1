//! The users table.

use super::domain::{EmailAddress, Username};
use crate::server::db::{now, Db};
use crate::{
    error::AppError,
    shared::{Account, User},
};
use sqlx::Row;

/// A user as stored, with what sign-in and password reset need.
pub struct StoredUser {
    pub user: User,
    pub password_hash: String,
    pub disabled: bool,
    /// The address, only once verified: the one place reset links may go.
    pub verified_email: Option<String>,
}

const STORED_USER: &str = "SELECT id, username, password_hash, disabled_at, email, email_verified_at FROM users";

fn stored_user(row: &sqlx::any::AnyRow) -> Result<StoredUser, sqlx::Error> {
    let verified = row.try_get::<Option<i64>, _>("email_verified_at")?.is_some();
    Ok(StoredUser {
        user: User { id: row.try_get("id")?, username: row.try_get("username")? },
        password_hash: row.try_get("password_hash")?,
        disabled: row.try_get::<Option<i64>, _>("disabled_at")?.is_some(),
        verified_email: row.try_get::<Option<String>, _>("email")?.filter(|_| verified),
    })
}

/// Adds a user; a name already taken (in any case) is a `409`, not a database error.
pub async fn create(db: &Db, username: &Username, password_hash: &str) -> Result<User, AppError> {
    let id = uuid::Uuid::new_v4().to_string();
    let inserted = sqlx::query(
        "INSERT INTO users (id, username, username_key, username_key_version, password_hash, created_at) \
         SELECT $1, $2, $3, 2, $4, $5 \
         WHERE NOT EXISTS (SELECT 1 FROM users WHERE username_key_version = 1 AND username_key = $6) \
         ON CONFLICT (username_key) DO NOTHING",
    )
    .bind(&id)
    .bind(username.as_str())
    .bind(username.key())
    .bind(password_hash)
    .bind(now())
    .bind(username.legacy_key())
    .execute(db)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(AppError::username_taken());
    }
    Ok(User { id, username: username.as_str().to_string() })
}

/// The account `username` names: by its folded key, or by the old key of an account
/// that could not be re-keyed; where both match, the one spelt exactly so.
pub async fn find_by_name(db: &Db, username: &Username) -> Result<Option<StoredUser>, AppError> {
    let row = sqlx::query(&format!(
        "{STORED_USER} WHERE username_key = $1 OR (username_key_version = 1 AND username_key = $2) \
         ORDER BY CASE WHEN username = $3 THEN 0 ELSE 1 END, username_key_version DESC LIMIT 1"
    ))
    .bind(username.key())
    .bind(username.legacy_key())
    .bind(username.as_str())
    .fetch_optional(db)
    .await?;
    Ok(row.as_ref().map(stored_user).transpose()?)
}

/// Gives every account still keyed the first release's way its folded key (migration
/// 0006), at start-up; safe when several instances do it at once. An account whose
/// folded key another already holds keeps its old key, and `find_by_name` still finds
/// it. Returns how many were re-keyed and how many could not be.
pub async fn rekey_legacy(db: &Db) -> Result<(u64, u64), sqlx::Error> {
    let rows = sqlx::query("SELECT id, username FROM users WHERE username_key_version = 1").fetch_all(db).await?;
    let (mut done, mut kept) = (0, 0);
    for row in rows {
        let (id, name): (String, String) = (row.try_get("id")?, row.try_get("username")?);
        let Ok(username) = Username::parse(&name) else { continue };
        let updated = sqlx::query(
            "UPDATE users SET username_key = $1, username_key_version = 2 WHERE id = $2 AND username_key_version = 1",
        )
        .bind(username.key())
        .bind(&id)
        .execute(db)
        .await;
        match updated {
            Ok(_) => done += 1,
            Err(sqlx::Error::Database(e)) if e.kind() == sqlx::error::ErrorKind::UniqueViolation => {
                tracing::warn!(user = %id, "username key kept: its case-folded form belongs to another account");
                kept += 1;
            }
            Err(e) => return Err(e),
        }
    }
    Ok((done, kept))
}

pub async fn find_by_id(
    db: impl sqlx::Executor<'_, Database = sqlx::Any>,
    id: &str,
) -> Result<Option<StoredUser>, AppError> {
    let row = sqlx::query(&format!("{STORED_USER} WHERE id = $1")).bind(id).fetch_optional(db).await?;
    Ok(row.as_ref().map(stored_user).transpose()?)
}

/// The active accounts whose verified address is `email` (several accounts may share
/// one address; each gets its own link).
pub async fn find_by_verified_email(db: &Db, email: &EmailAddress) -> Result<Vec<StoredUser>, AppError> {
    let rows = sqlx::query(&format!(
        "{STORED_USER} WHERE email_key = $1 AND email_verified_at IS NOT NULL AND disabled_at IS NULL \
         ORDER BY created_at LIMIT 10"
    ))
    .bind(email.key())
    .fetch_all(db)
    .await?;
    Ok(rows.iter().map(stored_user).collect::<Result<_, _>>()?)
}

/// Every account, for `latch users list`: (name, id, created at, disabled, email, verified).
pub async fn list(db: &Db) -> Result<Vec<(String, String, i64, bool, Option<String>, bool)>, AppError> {
    let rows = sqlx::query(
        "SELECT username, id, created_at, disabled_at, email, email_verified_at FROM users ORDER BY created_at, username",
    )
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("username")?,
                r.try_get("id")?,
                r.try_get("created_at")?,
                r.try_get::<Option<i64>, _>("disabled_at")?.is_some(),
                r.try_get("email")?,
                r.try_get::<Option<i64>, _>("email_verified_at")?.is_some(),
            ))
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(AppError::from)
}

/// The caller's account as `/api/account` answers it.
pub async fn account(db: &Db, id: &str) -> Result<Option<Account>, AppError> {
    Ok(account_and_pending_totp(db, id).await?.map(|(account, _)| account))
}

/// The account, and the secret of a TOTP setup that is pending (not yet turned on):
/// one read, the TOTP row joined and the passkeys counted in, for `/profile`.
pub async fn account_and_pending_totp(
    db: impl sqlx::Executor<'_, Database = sqlx::Any>,
    id: &str,
) -> Result<Option<(Account, Option<String>)>, AppError> {
    let row = sqlx::query(
        "SELECT u.id, u.username, u.email, u.email_verified_at, t.enabled_at AS totp_enabled_at, \
         t.secret AS totp_secret, (SELECT COUNT(*) FROM passkeys p WHERE p.user_id = u.id) AS passkeys \
         FROM users u LEFT JOIN totp t ON t.user_id = u.id WHERE u.id = $1 AND u.disabled_at IS NULL",
    )
    .bind(id)
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let totp_on = row.try_get::<Option<i64>, _>("totp_enabled_at")?.is_some();
    let pending = row.try_get::<Option<String>, _>("totp_secret")?.filter(|_| !totp_on);
    let account = Account {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        email: row.try_get("email")?,
        email_verified: row.try_get::<Option<i64>, _>("email_verified_at")?.is_some(),
        totp: totp_on,
        passkeys: row.try_get::<i64, _>("passkeys")?.try_into().unwrap_or(u32::MAX),
    };
    Ok(Some((account, pending)))
}

/// Sets a new, unverified address.
pub async fn set_email(conn: &mut sqlx::AnyConnection, id: &str, email: &EmailAddress) -> Result<(), AppError> {
    sqlx::query("UPDATE users SET email = $1, email_key = $2, email_verified_at = NULL WHERE id = $3")
        .bind(email.as_str())
        .bind(email.key())
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks the address verified, if it is still the account's address. Returns whether
/// it was.
pub async fn mark_email_verified(conn: &mut sqlx::AnyConnection, id: &str, email: &str) -> Result<bool, AppError> {
    let updated =
        sqlx::query("UPDATE users SET email_verified_at = $1 WHERE id = $2 AND email = $3 AND disabled_at IS NULL")
            .bind(now())
            .bind(id)
            .bind(email)
            .execute(conn)
            .await?;
    Ok(updated.rows_affected() == 1)
}

pub async fn password_hash(db: &Db, user_id: &str) -> Result<Option<String>, AppError> {
    let row = sqlx::query("SELECT password_hash FROM users WHERE id = $1 AND disabled_at IS NULL")
        .bind(user_id)
        .fetch_optional(db)
        .await?;
    Ok(row.map(|r| r.try_get("password_hash")).transpose()?)
}

pub async fn set_password_hash(
    db: impl sqlx::Executor<'_, Database = sqlx::Any>,
    user_id: &str,
    password_hash: &str,
) -> Result<(), AppError> {
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
    let Some(user) = find_by_name(db, username).await? else { return Ok(false) };
    let now = now();
    let mut tx = db.begin().await?;
    let updated = sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL")
        .bind(now)
        .bind(&user.user.id)
        .execute(&mut *tx)
        .await?;
    crate::server::session::sessions::revoke_all(&mut tx, &user.user.id).await?;
    tx.commit().await?;
    Ok(updated.rows_affected() == 1)
}

/// Deletes an account by name (the admin command); see `delete_by_id`.
pub async fn delete(db: &Db, username: &Username) -> Result<bool, AppError> {
    let Some(user) = find_by_name(db, username).await? else { return Ok(false) };
    let id = user.user.id;
    let mut tx = db.begin().await?;
    delete_by_id(&mut tx, &id, &username.key()).await?;
    tx.commit().await?;
    Ok(true)
}

/// Deletes an account and every piece of personal data it left: its sessions, links,
/// unsent mail, throttle counts, and the addresses and user agents in its audit
/// events (the events stay, so the log still says what happened). The username is
/// free again at once.
pub async fn delete_by_id(conn: &mut sqlx::AnyConnection, id: &str, username_key: &str) -> Result<(), AppError> {
    // Revoked first, so every instance refuses their access tokens at once; then
    // deleted explicitly, not by foreign key: SQLite enforces those only when asked.
    crate::server::session::sessions::revoke_all(&mut *conn, id).await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *conn).await?;
    sqlx::query("DELETE FROM account_links WHERE user_id = $1").bind(id).execute(&mut *conn).await?;
    for table in ["totp", "recovery_codes", "mfa_challenges", "passkeys", "webauthn_ceremonies"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1")).bind(id).execute(&mut *conn).await?;
    }
    sqlx::query(
        "DELETE FROM throttles WHERE (scope = 'account' AND key = $1) OR (scope IN ('mail', 'own_mail') AND key = $2)",
    )
    .bind(username_key)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    crate::server::mail::outbox::forget_user(&mut *conn, id).await?;
    crate::server::audit::anonymise(&mut *conn, id).await?;
    sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(&mut *conn).await?;
    Ok(())
}
