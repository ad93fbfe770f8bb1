//! The `outbox` table: messages waiting to be delivered, and the lease by which one
//! worker at a time owns a message.

use super::messages::Message;
use crate::{
    error::AppError,
    server::db::{now, Db},
};
use sqlx::Row;

/// How long a worker owns a claimed message. A worker that dies mid-send (killed, say)
/// leaves its lease behind; when the lease runs out another worker sends the message.
pub const LEASE_SECONDS: i64 = 30;

/// Records a message, inside the caller's transaction: it exists exactly when what
/// caused it does.
pub async fn enqueue(conn: &mut sqlx::AnyConnection, user_id: Option<&str>, message: &Message) -> Result<(), AppError> {
    let now = now();
    sqlx::query(
        "INSERT INTO outbox (id, user_id, recipient, subject, body_text, body_html, created_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(user_id)
    .bind(&message.to)
    .bind(&message.subject)
    .bind(&message.text)
    .bind(&message.html)
    .bind(now)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// A message this worker now owns.
#[derive(Debug)]
pub struct Claimed {
    pub id: String,
    pub message: Message,
    /// This attempt's number, from 1.
    pub attempt: i64,
    /// The claim's expiry: finishing checks it is still ours.
    pub lease: i64,
}

/// Takes the oldest message that is due and not owned by another worker, if any.
///
/// One statement, so the claim is atomic: SQLite has one writer at a time; PostgreSQL
/// skips rows another worker has locked, and re-checks the lease on the row it
/// updates, so two instances never own one message.
pub async fn claim(db: &Db, postgres: bool) -> Result<Option<Claimed>, sqlx::Error> {
    let now = now();
    let lock = if postgres { " FOR UPDATE SKIP LOCKED" } else { "" };
    let sql = format!(
        "UPDATE outbox SET claimed_until = $1, attempts = attempts + 1 \
         WHERE id = (SELECT id FROM outbox \
                     WHERE sent_at IS NULL AND next_attempt_at <= $2 \
                       AND (claimed_until IS NULL OR claimed_until < $3) \
                     ORDER BY created_at, id LIMIT 1{lock}) \
           AND sent_at IS NULL AND (claimed_until IS NULL OR claimed_until < $4) \
         RETURNING id, recipient, subject, body_text, body_html, attempts"
    );
    let lease = now + LEASE_SECONDS;
    let row = sqlx::query(&sql).bind(lease).bind(now).bind(now).bind(now).fetch_optional(db).await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Claimed {
        id: row.try_get("id")?,
        message: Message {
            to: row.try_get("recipient")?,
            subject: row.try_get("subject")?,
            text: row.try_get("body_text")?,
            html: row.try_get("body_html")?,
        },
        attempt: row.try_get("attempts")?,
        lease,
    }))
}

/// Delivered: the row stays (so nothing sends it again) but the recipient and the
/// bodies, with the links in them, are blanked.
pub async fn mark_sent(db: &Db, claimed: &Claimed) -> Result<(), sqlx::Error> {
    settle(db, claimed, None).await
}

/// Never deliverable (a recipient the mailer refuses): settled like a sent message, so
/// nothing tries again, and blanked like one, with the reason kept in `last_error`.
pub async fn give_up(db: &Db, claimed: &Claimed, error: &str) -> Result<(), sqlx::Error> {
    settle(db, claimed, Some(format!("given up: {}", error.chars().take(480).collect::<String>()))).await
}

async fn settle(db: &Db, claimed: &Claimed, last_error: Option<String>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outbox SET sent_at = $1, claimed_until = NULL, recipient = '', body_text = '', body_html = '', \
                last_error = $2 \
         WHERE id = $3 AND sent_at IS NULL",
    )
    .bind(now())
    .bind(last_error)
    .bind(&claimed.id)
    .execute(db)
    .await?;
    Ok(())
}

/// Not delivered: try again after `delay` seconds, unless the claim has passed to
/// another worker meanwhile (then its outcome stands).
pub async fn retry_later(db: &Db, claimed: &Claimed, delay: i64, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE outbox SET claimed_until = NULL, next_attempt_at = $1, last_error = $2 \
         WHERE id = $3 AND claimed_until = $4 AND sent_at IS NULL",
    )
    .bind(now() + delay)
    .bind(error.chars().take(500).collect::<String>())
    .bind(&claimed.id)
    .bind(claimed.lease)
    .execute(db)
    .await?;
    Ok(())
}

/// The wait before attempt `attempt + 1`: 1 s, 2 s, 4 s, … at most `max`.
pub fn backoff(attempt: i64, max: i64) -> i64 {
    2i64.saturating_pow(attempt.clamp(1, 40) as u32 - 1).min(max)
}

/// A deleted account's mail that has not left yet never will.
pub async fn forget_user(conn: &mut sqlx::AnyConnection, user_id: &str) -> Result<(), AppError> {
    sqlx::query("DELETE FROM outbox WHERE user_id = $1 AND sent_at IS NULL").bind(user_id).execute(&mut *conn).await?;
    sqlx::query("UPDATE outbox SET user_id = NULL WHERE user_id = $1").bind(user_id).execute(conn).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_up_to_its_cap() {
        let waits: Vec<i64> = (1..=7).map(|a| backoff(a, 30)).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(backoff(1_000, 300), 300, "no overflow");
    }
}
