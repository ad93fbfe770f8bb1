//! The audit log: authentication events with time, user, session, client address and
//! user agent. It never holds a password, a token, or a username typed at a failed
//! sign-in (that is where mistyped passwords end up).

use super::{
    db::{now, Db},
    guard::throttle::Throttled,
    session::sessions::ClientInfo,
};
use crate::{error::AppError, shared::AuditEntry};
use sqlx::Row;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Registered,
    LoginSucceeded,
    LoginFailed,
    Throttled,
    LoggedOut,
    Refreshed,
    ReuseDetected,
    PasswordChanged,
    UserDisabled,
    UserDeleted,
    KeyRotated,
    /// A wrong password given to confirm a change on `/profile`.
    PasswordCheckFailed,
    /// A wrong second-factor code given to confirm a change on `/profile`.
    CodeCheckFailed,
    EmailChanged,
    EmailVerified,
    VerificationSent,
    ResetRequested,
    PasswordReset,
    AccountDeleted,
    SessionRevoked,
    SignedOutOthers,
    SignedOutEverywhere,
    TotpEnabled,
    TotpDisabled,
    PasskeyAdded,
    PasskeyRemoved,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Registered => "register",
            Event::LoginSucceeded => "login_ok",
            Event::LoginFailed => "login_failed",
            Event::Throttled => "throttled",
            Event::LoggedOut => "logout",
            Event::Refreshed => "refresh",
            Event::ReuseDetected => "reuse_detected",
            Event::PasswordChanged => "password_changed",
            Event::UserDisabled => "user_disabled",
            Event::UserDeleted => "user_deleted",
            Event::KeyRotated => "key_rotated",
            Event::PasswordCheckFailed => "password_check_failed",
            Event::CodeCheckFailed => "code_check_failed",
            Event::EmailChanged => "email_changed",
            Event::EmailVerified => "email_verified",
            Event::VerificationSent => "verification_sent",
            Event::ResetRequested => "reset_requested",
            Event::PasswordReset => "password_reset",
            Event::AccountDeleted => "account_deleted",
            Event::SessionRevoked => "session_revoked",
            Event::SignedOutOthers => "signed_out_others",
            Event::SignedOutEverywhere => "signed_out_everywhere",
            Event::TotpEnabled => "totp_enabled",
            Event::TotpDisabled => "totp_disabled",
            Event::PasskeyAdded => "passkey_added",
            Event::PasskeyRemoved => "passkey_removed",
        }
    }
}

/// Writes one event. A failure to write is logged, never the request's failure: the
/// database error that caused it surfaces on the request's own queries.
pub async fn record(db: &Db, event: Event, user_id: Option<&str>, session_id: Option<&str>, client: &ClientInfo) {
    write(db, &uuid::Uuid::new_v4().to_string(), event, user_id, session_id, client).await;
}

/// Records a request the throttle refused. One row per window, key and account: the
/// first refusal writes it, the next ones add to its `count`, so a client hammering
/// away while throttled cannot grow the log. The row's id is derived from the window
/// and key (a digest: the key may be a name someone typed).
pub async fn record_refusal(db: &Db, throttled: &Throttled, user_id: Option<&str>, client: &ClientInfo) {
    use sha2::{Digest, Sha256};
    // The user too: one address refused on behalf of several accounts is one row each.
    let window = format!(
        "throttled\0{}\0{}\0{}\0{}",
        throttled.scope.name(),
        throttled.key,
        throttled.since,
        user_id.unwrap_or("")
    );
    let id = format!("t-{}", &hex::encode(Sha256::digest(window.as_bytes()))[..40]);
    write(db, &id, Event::Throttled, user_id, None, client).await;
}

/// The row `id`, or, when it exists already, one more to its `count`.
async fn write(db: &Db, id: &str, event: Event, user_id: Option<&str>, session_id: Option<&str>, client: &ClientInfo) {
    let written = sqlx::query(
        "INSERT INTO audit_events (id, at, event, user_id, session_id, ip, user_agent, count) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1) \
         ON CONFLICT (id) DO UPDATE SET count = audit_events.count + 1",
    )
    .bind(id)
    .bind(now())
    .bind(event.as_str())
    .bind(user_id)
    .bind(session_id)
    .bind(client.ip.as_deref())
    .bind(client.user_agent.as_deref().map(|ua| ua.chars().take(512).collect::<String>()))
    .execute(db)
    .await;
    if let Err(error) = written {
        tracing::warn!(%error, event = event.as_str(), "audit event not written");
    }
}

/// Keeps a deleted account's events but forgets where they came from: the addresses
/// and user agents are personal data; that something happened is not.
pub async fn anonymise(db: impl sqlx::Executor<'_, Database = sqlx::Any>, user_id: &str) -> Result<(), AppError> {
    sqlx::query("UPDATE audit_events SET ip = NULL, user_agent = NULL WHERE user_id = $1")
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(())
}

/// The user's most recent events, newest first.
pub async fn recent(db: &Db, user_id: &str, limit: i64) -> Result<Vec<AuditEntry>, AppError> {
    let rows = sqlx::query(
        "SELECT at, event, ip, user_agent, count FROM audit_events WHERE user_id = $1 ORDER BY at DESC, id LIMIT $2",
    )
    .bind(user_id)
    .bind(limit)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(AuditEntry {
                at: row.try_get("at")?,
                event: row.try_get("event")?,
                ip: row.try_get("ip")?,
                user_agent: row.try_get("user_agent")?,
                count: row.try_get("count")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(AppError::from)
}
