//! The database: one pool over SQLite or PostgreSQL, chosen by the URL at run time.
//! Queries are written once in SQL both accept (`$n` parameters, integer timestamps in
//! unix seconds, text ids).

use secrecy::{ExposeSecret, SecretString};
use sqlx::{
    any::{install_default_drivers, AnyPoolOptions},
    migrate::Migrator,
    AnyPool,
};
use std::{path::Path, time::Duration};

pub type Db = AnyPool;

/// Latch's migrations: one set for both databases (the schema uses only SQL both
/// accept). sqlx keeps one `_sqlx_migrations` table per database, shared with any
/// migrations of the app's own in the same database: versions Latch does not know are
/// the app's and are let be. Latch's versions are small numbers (0001…), an app's
/// `sqlx migrate add` timestamps, so the two never collide.
fn migrations() -> Migrator {
    let mut migrator = sqlx::migrate!("./migrations");
    migrator.set_ignore_missing(true);
    migrator
}

#[derive(Debug)]
pub struct DbError(pub String);

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DbError {}

/// Opens the pool and applies pending migrations. For SQLite the file and its folder
/// are created, so a first start needs nothing.
pub async fn connect(url: &SecretString) -> Result<Db, DbError> {
    install_default_drivers();
    let url = url.expose_secret();
    let is_sqlite = url.starts_with("sqlite:");
    let url = if is_sqlite { prepare_sqlite(url)? } else { url.to_string() };

    let pool = AnyPoolOptions::new()
        // In WAL mode, NORMAL syncs at checkpoints rather than at every commit: still
        // corruption-safe, and a refresh (one small write) stops waiting on fsync.
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if is_sqlite {
                    sqlx::query("PRAGMA synchronous = NORMAL").execute(conn).await?;
                }
                Ok(())
            })
        })
        // SQLite serialises writers anyway; a few connections serve concurrent readers.
        .max_connections(if is_sqlite { 8 } else { 16 })
        // A dead database must answer "unavailable" quickly, never hang a request.
        .acquire_timeout(Duration::from_secs(3))
        .connect(&url)
        .await
        .map_err(|e| DbError(format!("DATABASE_URL: cannot connect: {e}")))?;

    // Several instances may start at once on an empty database. PostgreSQL serialises
    // their migrations with an advisory lock; SQLite answers the losers "database is
    // locked", and on a second look they find the work done.
    if is_sqlite {
        // WAL lets readers run beside the one writer; it persists in the file.
        retry_start_race("enable WAL", || async {
            sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await.map(drop).map_err(|e| e.to_string())
        })
        .await?;
    }
    retry_start_race("apply migrations", || async { migrations().run(&pool).await.map_err(|e| e.to_string()) }).await?;
    Ok(pool)
}

async fn retry_start_race<F, Fut>(what: &str, mut step: F) -> Result<(), DbError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let mut attempt = 1;
    loop {
        match step().await {
            Ok(()) => return Ok(()),
            Err(e) if attempt < 5 => {
                tracing::info!(error = %e, "cannot {what} yet (another instance starting?); trying again");
                tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
                attempt += 1;
            }
            Err(e) => return Err(DbError(format!("DATABASE_URL: cannot {what}: {e}"))),
        }
    }
}

/// Creates the database's folder and asks SQLite to create the file.
fn prepare_sqlite(url: &str) -> Result<String, DbError> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(url.to_string());
    }
    if let Some(parent) = Path::new(path).parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| DbError(format!("DATABASE_URL: cannot create {}: {e}", parent.display())))?;
    }
    Ok(if url.contains("mode=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    })
}

/// Now, in unix seconds: the unit of every timestamp column and claim.
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default()
}
