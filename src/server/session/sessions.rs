//! The sessions table: one row per sign-in. A refresh token is good only while its
//! session is live and its `jti` is the session's current one (or, for a short grace
//! window, the one just rotated away). Rotation is one conditional `UPDATE`, so two
//! concurrent refreshes can never both rotate, on one instance or many.

use super::{revocation, tokens::Claims};
use crate::server::guard::client::TrustedProxies;
use crate::server::{
    audit::{self, Event},
    db::{now, Db},
};
use crate::{
    error::AppError,
    shared::{SessionInfo, User},
};
use sqlx::{any::AnyRow, Row};

/// Who is signing in, for the session row and the audit log.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

impl ClientInfo {
    /// The client of a request: its user agent and its address (`guard::client`).
    pub fn of(headers: &http::HeaderMap, extensions: &http::Extensions, proxies: &TrustedProxies) -> Self {
        let peer = extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        let forwarded = headers.get_all("x-forwarded-for").into_iter().filter_map(|v| v.to_str().ok());
        ClientInfo {
            user_agent: headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_string),
            ip: peer.map(|peer| proxies.client(peer, forwarded).to_string()),
        }
    }
}

/// How a session signed in, as `/sessions` and the audit log tell it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// A password (registration included).
    Password,
    /// A password-reset link.
    Reset,
    /// A password, then a TOTP or recovery code.
    PasswordTotp,
    /// A passkey, complete by itself.
    Passkey,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Password => "password",
            Method::Reset => "reset",
            Method::PasswordTotp => "password+totp",
            Method::Passkey => "passkey",
        }
    }
}

/// Opens a session whose first refresh token has id `jti`; returns the session id.
pub async fn create(
    db: &Db,
    user_id: &str,
    jti: &str,
    lifetime: i64,
    client: &ClientInfo,
    method: Method,
) -> Result<String, AppError> {
    let id = uuid::Uuid::new_v4().to_string();
    let now = now();
    // Only for an account that is still there: a sign-in that raced the account's
    // deletion opens nothing and is a 401, never a 500 (nor, where the database does
    // not enforce the foreign key, a session of nobody).
    let created = sqlx::query(
        "INSERT INTO sessions (id, user_id, refresh_jti, created_at, last_used_at, expires_at, user_agent, ip, method) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 WHERE EXISTS (SELECT 1 FROM users WHERE id = $10)",
    )
    .bind(&id)
    .bind(user_id)
    .bind(jti)
    .bind(now)
    .bind(now)
    .bind(now + lifetime)
    .bind(client.user_agent.as_deref().map(|ua| truncate(ua, 512)))
    .bind(client.ip.as_deref())
    .bind(method.as_str())
    .bind(user_id)
    .execute(db)
    .await;
    match created {
        Ok(done) if done.rows_affected() == 1 => Ok(id),
        Ok(_) => Err(AppError::unauthorized()),
        // Deleted between the check and the insert (PostgreSQL's foreign key saw it).
        Err(sqlx::Error::Database(e)) if e.kind() == sqlx::error::ErrorKind::ForeignKeyViolation => {
            Err(AppError::unauthorized())
        }
        Err(e) => Err(e.into()),
    }
}

/// Ends the sessions that `condition` (over `$2`, `$3`, …) selects among the live ones,
/// for every instance: each is marked revoked and recorded for the access-token check
/// (`revocation`), in the caller's transaction. Returns their ids.
async fn revoke_where(
    conn: &mut sqlx::AnyConnection,
    condition: &str,
    binds: &[&str],
) -> Result<Vec<String>, AppError> {
    let now = now();
    let sql = format!("UPDATE sessions SET revoked_at = $1 WHERE revoked_at IS NULL AND {condition} RETURNING id");
    let mut query = sqlx::query(&sql).bind(now);
    for value in binds {
        query = query.bind(*value);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    let sids = rows.iter().map(|row| row.try_get::<String, _>("id")).collect::<Result<Vec<_>, _>>()?;
    revocation::record(conn, &sids, now).await?;
    Ok(sids)
}

/// `revoke_where` in a transaction of its own.
async fn revoke_in_tx(db: &Db, condition: &str, binds: &[&str]) -> Result<Vec<String>, AppError> {
    let mut tx = db.begin().await?;
    let sids = revoke_where(&mut tx, condition, binds).await?;
    tx.commit().await?;
    Ok(sids)
}

/// Ends every session of the user but `keep`; returns how many.
pub async fn revoke_others(db: &Db, user_id: &str, keep: &str) -> Result<u64, AppError> {
    Ok(revoke_in_tx(db, "user_id = $2 AND id <> $3", &[user_id, keep]).await?.len() as u64)
}

/// Ends every session of the user (a password reset, a deleted or disabled account),
/// inside the caller's transaction; returns how many.
pub async fn revoke_all(conn: &mut sqlx::AnyConnection, user_id: &str) -> Result<u64, AppError> {
    Ok(revoke_where(conn, "user_id = $2", &[user_id]).await?.len() as u64)
}

/// Ends a session: its refresh tokens are dead from now on, and its access token within
/// seconds on every instance.
pub async fn revoke(db: &Db, sid: &str) -> Result<(), AppError> {
    revoke_in_tx(db, "id = $2", &[sid]).await.map(drop)
}

/// Ends the user's session `sid`; false when it is not theirs, or not live.
pub async fn revoke_owned(db: &Db, user_id: &str, sid: &str) -> Result<bool, AppError> {
    Ok(!revoke_in_tx(db, "id = $2 AND user_id = $3", &[sid, user_id]).await?.is_empty())
}

/// Every live session, or one user's, for the admin command: (username, session).
pub async fn list_all(db: &Db, user_id: Option<&str>) -> Result<Vec<(String, SessionInfo)>, AppError> {
    let rows = sqlx::query(
        "SELECT s.id, s.created_at, s.last_used_at, s.user_agent, s.ip, s.method, u.username \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.revoked_at IS NULL AND s.expires_at > $1 AND ($2 = '' OR s.user_id = $3) \
         ORDER BY u.username, s.last_used_at DESC",
    )
    .bind(now())
    .bind(user_id.unwrap_or(""))
    .bind(user_id.unwrap_or(""))
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("username")?, session_info(row, "")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(AppError::from)
}

/// Ends every live session, or one user's (the admin command); returns how many.
pub async fn revoke_everyone(db: &Db, user_id: Option<&str>) -> Result<u64, AppError> {
    let sids = match user_id {
        Some(user_id) => revoke_in_tx(db, "user_id = $2", &[user_id]).await?,
        None => revoke_in_tx(db, "1 = 1", &[]).await?,
    };
    Ok(sids.len() as u64)
}

fn session_info(row: &AnyRow, current_sid: &str) -> Result<SessionInfo, sqlx::Error> {
    let user_agent: Option<String> = row.try_get("user_agent")?;
    let id: String = row.try_get("id")?;
    Ok(SessionInfo {
        current: id == current_sid,
        device: device_of(user_agent.as_deref()),
        id,
        user_agent,
        ip: row.try_get("ip")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        method: row.try_get("method")?,
    })
}

/// "Chrome on Linux", from a `User-Agent` header.
pub fn device_of(user_agent: Option<&str>) -> String {
    let parsed = user_agent.and_then(|ua| woothee::parser::Parser::new().parse(ua));
    let known = |s: &str| !s.is_empty() && s != "UNKNOWN";
    match parsed {
        Some(p) if known(p.name) && known(p.os) => format!("{} on {}", p.name, p.os),
        Some(p) if known(p.name) => format!("{} on an unknown system", p.name),
        _ => "An unknown browser".to_string(),
    }
}

/// The user's sessions that are neither revoked nor expired, newest first.
pub async fn list_live(db: &Db, user_id: &str, current_sid: &str) -> Result<Vec<SessionInfo>, AppError> {
    let rows = sqlx::query(
        "SELECT id, created_at, last_used_at, user_agent, ip, method FROM sessions \
         WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
         ORDER BY last_used_at DESC LIMIT 50",
    )
    .bind(user_id)
    .bind(now())
    .fetch_all(db)
    .await?;
    rows.iter().map(|row| session_info(row, current_sid)).collect::<Result<_, sqlx::Error>>().map_err(AppError::from)
}

#[derive(Debug, PartialEq, Eq)]
pub enum Refresh {
    /// This request rotated the session: the new refresh token gets `jti`.
    Rotated { user: User, jti: String },
    /// Another request rotated it a moment ago (parallel tabs): serve the user with the
    /// session's current `jti`, and harm nothing.
    Raced { user: User, jti: String },
    /// Revoked, expired, unknown, or a disabled user.
    Refused,
    /// A replay past the grace window: the whole session has just been revoked (and
    /// the reuse audited).
    Reused,
}

struct SessionRow {
    user: User,
    refresh_jti: String,
    previous_jti: Option<String>,
    rotated_at: Option<i64>,
    live: bool,
}

async fn load(db: &Db, sid: &str, user_id: &str) -> Result<Option<SessionRow>, AppError> {
    let row: Option<AnyRow> = sqlx::query(
        "SELECT s.refresh_jti, s.previous_jti, s.rotated_at, s.expires_at, s.revoked_at, \
                u.id AS user_id, u.username, u.disabled_at \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.id = $1 AND s.user_id = $2",
    )
    .bind(sid)
    .bind(user_id)
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let live = row.try_get::<Option<i64>, _>("revoked_at")?.is_none()
        && row.try_get::<Option<i64>, _>("disabled_at")?.is_none()
        && row.try_get::<i64, _>("expires_at")? > now();
    Ok(Some(SessionRow {
        user: User { id: row.try_get("user_id")?, username: row.try_get("username")? },
        refresh_jti: row.try_get("refresh_jti")?,
        previous_jti: row.try_get("previous_jti")?,
        rotated_at: row.try_get("rotated_at")?,
        live,
    }))
}

/// Spends a verified refresh token: rotates the session to `new_jti`, or tells a race
/// from a replay.
/// Rotation is a single autocommit `UPDATE` (atomic on its own). Wrapping it and its
/// audit event in one transaction was measured slower on SQLite: a deferred
/// transaction's read-to-write upgrade makes concurrent refreshes wait on the lock
/// (bench: 2,242 against 3,671 refreshes/s).
pub async fn refresh(
    db: &Db,
    claims: &Claims,
    new_jti: &str,
    lifetime: i64,
    grace: i64,
    client: &ClientInfo,
) -> Result<Refresh, AppError> {
    let Some(session) = load(db, &claims.sid, &claims.sub).await? else { return Ok(Refresh::Refused) };
    if !session.live {
        return Ok(Refresh::Refused);
    }
    if session.refresh_jti == claims.jti {
        let now = now();
        let rotated = sqlx::query(
            "UPDATE sessions SET previous_jti = refresh_jti, refresh_jti = $1, rotated_at = $2, \
                    last_used_at = $3, expires_at = $4 \
             WHERE id = $5 AND refresh_jti = $6 AND revoked_at IS NULL",
        )
        .bind(new_jti)
        .bind(now)
        .bind(now)
        .bind(now + lifetime)
        .bind(&claims.sid)
        .bind(&claims.jti)
        .execute(db)
        .await?;
        if rotated.rows_affected() == 1 {
            audit::record(db, Event::Refreshed, Some(&session.user.id), Some(&claims.sid), client).await;
            return Ok(Refresh::Rotated { user: session.user, jti: new_jti.to_string() });
        }
        // Lost the race to a concurrent refresh: judge the token against what won.
        return match load(db, &claims.sid, &claims.sub).await? {
            Some(winner) if winner.live => Ok(judge_replay(db, winner, claims, grace, client).await?),
            _ => Ok(Refresh::Refused),
        };
    }
    judge_replay(db, session, claims, grace, client).await
}

/// A token that is not the session's current one: the one just rotated away, inside the
/// grace window, is a race; anything else is reuse of a stolen or stale token, and the
/// whole session goes.
async fn judge_replay(
    db: &Db,
    session: SessionRow,
    claims: &Claims,
    grace: i64,
    client: &ClientInfo,
) -> Result<Refresh, AppError> {
    let in_grace = session.previous_jti.as_deref() == Some(claims.jti.as_str())
        && session.rotated_at.is_some_and(|at| now() - at <= grace);
    if in_grace {
        return Ok(Refresh::Raced { user: session.user, jti: session.refresh_jti });
    }
    tracing::warn!(sid = %claims.sid, user = %claims.sub, "refresh token reuse detected; session revoked");
    revoke(db, &claims.sid).await?;
    audit::record(db, Event::ReuseDetected, Some(&claims.sub), Some(&claims.sid), client).await;
    Ok(Refresh::Reused)
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_named_by_browser_and_system() {
        let chrome =
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
        assert_eq!(device_of(Some(chrome)), "Chrome on Linux");
        let firefox = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0";
        assert_eq!(device_of(Some(firefox)), "Firefox on Windows 10");
        assert_eq!(device_of(Some("curl/8.0")), "HTTP Library on an unknown system");
        assert_eq!(device_of(Some("nonsense")), "An unknown browser");
        assert_eq!(device_of(None), "An unknown browser");
    }
}
