//! Revocation that reaches access tokens within seconds, without a database read on
//! the valid-token path. Every revocation (sign-out, a session ended from `/sessions`,
//! sign out everywhere, a password change or reset, reuse detection, an account
//! disabled or deleted) is written to `revoked_sessions` in the same transaction. Each
//! instance keeps in memory the ids of sessions revoked within the last access-token
//! lifetime (older ones need no list: their access tokens have expired), loaded at
//! start, refreshed every second from the table (which also serves SQLite and covers a
//! missed notification), and on PostgreSQL pushed at once by `LISTEN/NOTIFY`. The
//! middleware checks the set after the signature.

use crate::server::db::{now, Db};
use secrecy::{ExposeSecret, SecretString};
use sqlx::Row;
use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::Duration,
};

/// The PostgreSQL channel that carries revoked session ids.
const CHANNEL: &str = "latch_revocations";
/// How often the table is read again: the bound on SQLite, the safety net on PostgreSQL.
const CATCH_UP: Duration = Duration::from_secs(1);

/// The sessions revoked within the last access-token lifetime: id → when.
pub struct Revoked {
    entries: RwLock<HashMap<String, i64>>,
    /// The access-token lifetime: older revocations are forgotten.
    horizon: i64,
}

impl Revoked {
    pub fn new(access_lifetime: i64) -> Self {
        Revoked { entries: RwLock::new(HashMap::new()), horizon: access_lifetime }
    }

    /// Whether an access token of session `sid` must be refused.
    pub fn contains(&self, sid: &str) -> bool {
        match self.entries.read() {
            Ok(entries) => entries.contains_key(sid),
            Err(poisoned) => poisoned.into_inner().contains_key(sid),
        }
    }

    fn insert(&self, sid: String, at: i64) {
        if let Ok(mut entries) = self.entries.write() {
            entries.insert(sid, at);
        }
    }

    /// The table's view replaces ours, but for entries that arrived by notification
    /// meanwhile and are still young; anything older than the horizon goes.
    fn replace(&self, fresh: HashMap<String, i64>, now: i64) {
        if let Ok(mut entries) = self.entries.write() {
            let horizon = now - self.horizon;
            let pushed: Vec<(String, i64)> =
                entries.drain().filter(|(sid, at)| *at >= horizon && !fresh.contains_key(sid)).collect();
            entries.extend(fresh);
            entries.extend(pushed);
        }
    }
}

/// Marks sessions revoked for every instance, inside the caller's transaction (the
/// notification, on PostgreSQL, goes out when it commits).
pub async fn record(conn: &mut sqlx::AnyConnection, sids: &[String], at: i64) -> Result<(), sqlx::Error> {
    let postgres = conn.backend_name() == "PostgreSQL";
    for sid in sids {
        sqlx::query("INSERT INTO revoked_sessions (sid, revoked_at) VALUES ($1, $2) ON CONFLICT (sid) DO NOTHING")
            .bind(sid)
            .bind(at)
            .execute(&mut *conn)
            .await?;
        if postgres {
            sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(sid).execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// Reads the revocations still within the horizon.
async fn read(db: &Db, revoked: &Revoked) -> Result<(), sqlx::Error> {
    let now = now();
    let rows = sqlx::query("SELECT sid, revoked_at FROM revoked_sessions WHERE revoked_at >= $1")
        .bind(now - revoked.horizon)
        .fetch_all(db)
        .await?;
    let fresh = rows
        .iter()
        .map(|row| Ok((row.try_get::<String, _>("sid")?, row.try_get::<i64, _>("revoked_at")?)))
        .collect::<Result<HashMap<_, _>, sqlx::Error>>()?;
    revoked.replace(fresh, now);
    Ok(())
}

/// Loads the set before the instance serves.
pub async fn load(db: &Db, revoked: &Revoked) -> Result<(), sqlx::Error> {
    read(db, revoked).await
}

/// Keeps the set current, forever: a catch-up read every second, a prune of the table
/// now and then, and on PostgreSQL a listener for pushed revocations.
pub async fn run(db: Db, revoked: Arc<Revoked>, postgres_url: Option<SecretString>) {
    if let Some(url) = postgres_url {
        tokio::spawn(listen(url, revoked.clone()));
    }
    let mut ticks: u64 = 0;
    loop {
        tokio::time::sleep(CATCH_UP).await;
        if let Err(error) = read(&db, &revoked).await {
            tracing::warn!(%error, "revocations: cannot read; keeping the last known set");
        }
        ticks += 1;
        if ticks % 60 == 0 {
            // A minute of margin past the horizon, for clocks a little apart.
            let old = now() - revoked.horizon - 60;
            if let Err(error) =
                sqlx::query("DELETE FROM revoked_sessions WHERE revoked_at < $1").bind(old).execute(&db).await
            {
                tracing::warn!(%error, "revocations: cannot prune");
            }
        }
    }
}

/// PostgreSQL's push: each notification adds its session at once. Reconnects after a
/// failure; what it missed meanwhile, the catch-up read brings.
async fn listen(url: SecretString, revoked: Arc<Revoked>) {
    loop {
        match sqlx::postgres::PgListener::connect(url.expose_secret()).await {
            Ok(mut listener) => {
                if let Err(error) = listener.listen(CHANNEL).await {
                    tracing::warn!(%error, "revocations: cannot LISTEN");
                } else {
                    loop {
                        match listener.recv().await {
                            Ok(notification) => revoked.insert(notification.payload().to_string(), now()),
                            Err(error) => {
                                tracing::warn!(%error, "revocations: notification connection lost");
                                break;
                            }
                        }
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "revocations: cannot connect to LISTEN"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_entries_are_forgotten_and_pushed_ones_kept_until_the_table_has_them() {
        let revoked = Revoked::new(300);
        revoked.insert("pushed".into(), 1_000);
        revoked.insert("stale".into(), 600);
        revoked.replace(HashMap::from([("read".to_string(), 990)]), 1_000);
        assert!(revoked.contains("pushed") && revoked.contains("read"));
        assert!(!revoked.contains("stale"), "older than one access lifetime");
        assert_eq!(revoked.entries.read().unwrap().len(), 2);
    }
}
