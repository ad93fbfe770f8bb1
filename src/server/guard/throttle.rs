//! Throttling without victim lockout. Failures are counted per account and per client
//! address, in the database (so every instance shares the counts). Past a few free
//! failures each further one doubles the wait (1 s, 2 s, 4 s, … at most 15 min), and a
//! quiet window forgets them. An attempt is counted *before* its secret is checked and
//! given back if the secret was right (`attempt`, `forgive`), so guesses sent all at
//! once each pay, a right secret never starts a wait, and a refused request counts
//! nothing: a wait, once set, ends when it said. Quotas (mail, reset requests, ceremonies) count in a fixed window from its
//! first event. Who is counted for an account's secrets is `guard::budget`'s business.

use crate::error::{AppError, ErrorCode};
use crate::server::db::{now, Db};
use sqlx::Row;

/// How much failure each scope forgives, and for how long it remembers.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub free: i64,
    pub window: i64,
    pub kind: Kind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Past `free` failures each further one doubles the wait (guessing secrets).
    Backoff,
    /// At most `free` in a window that starts with the first; then wait for its end.
    Quota,
}

/// The longest back-off.
const MAX_WAIT: i64 = 15 * 60;

#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// Failures on one account's secrets (from clients it has not signed in from).
    pub account: Limits,
    /// Failures from one client address, over all accounts.
    pub address: Limits,
    /// Registrations from one client address.
    pub registration: Limits,
    /// Password-reset requests from one client address.
    pub reset_requests: Limits,
    /// Reset and verification mails to one account, counted apart for what strangers
    /// ask for (`Mail`) and what the signed-in owner asks for (`OwnMail`).
    pub mails: Limits,
    /// Passkey sign-in ceremonies started from one client address.
    pub ceremonies: Limits,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Scope {
    Account,
    Address,
    /// Failures through one device cookie (`guard::device`): the owner's browser.
    Device,
    Registration,
    ResetRequest,
    /// Reset mails asked for by anyone, per account.
    Mail,
    /// Verification mails the signed-in owner asks for, per account.
    OwnMail,
    Ceremony,
}

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Scope::Account => "account",
            Scope::Address => "address",
            Scope::Device => "device",
            Scope::Registration => "register",
            Scope::ResetRequest => "reset_request",
            Scope::Mail => "mail",
            Scope::OwnMail => "own_mail",
            Scope::Ceremony => "ceremony",
        }
    }
}

/// A request the throttle turned away: how long to wait, and which window of which
/// count refused it (so that the audit log writes one row per window, not per request).
#[derive(Debug)]
pub struct Throttled {
    pub seconds: i64,
    pub scope: Scope,
    pub key: String,
    /// When the window (a quota's) or the wait (a back-off's) that refused it began.
    pub since: i64,
}

impl Throttled {
    pub fn error(&self) -> AppError {
        AppError {
            retry_after: Some(self.seconds.max(1) as u64),
            ..AppError::new(ErrorCode::Throttled, format!("too many attempts; try again in {} s", self.seconds.max(1)))
        }
    }
}

/// Why a throttled step did not go ahead.
#[derive(Debug)]
pub enum Blocked {
    Throttled(Throttled),
    Failed(AppError),
}

impl From<sqlx::Error> for Blocked {
    fn from(error: sqlx::Error) -> Self {
        Blocked::Failed(error.into())
    }
}

/// What a throttle refusal or a failure to count becomes for the caller.
impl From<Blocked> for AppError {
    fn from(blocked: Blocked) -> Self {
        match blocked {
            Blocked::Throttled(throttled) => throttled.error(),
            Blocked::Failed(error) => error,
        }
    }
}

impl Policy {
    fn limits(&self, scope: Scope) -> Limits {
        match scope {
            Scope::Account | Scope::Device => self.account,
            Scope::Address => self.address,
            Scope::Registration => self.registration,
            Scope::ResetRequest => self.reset_requests,
            Scope::Mail | Scope::OwnMail => self.mails,
            Scope::Ceremony => self.ceremonies,
        }
    }

    /// Refused while `key` is waiting out a back-off in `scope`; counts nothing.
    pub async fn check(&self, db: &Db, scope: Scope, key: &str) -> Result<(), Blocked> {
        if self.limits(scope).free <= 0 {
            return Ok(()); // throttling off for this scope
        }
        let row = sqlx::query("SELECT blocked_until, last_failure_at FROM throttles WHERE scope = $1 AND key = $2")
            .bind(scope.name())
            .bind(key)
            .fetch_optional(db)
            .await?;
        let Some(row) = row else { return Ok(()) };
        let (until, last): (i64, i64) = (row.try_get("blocked_until")?, row.try_get("last_failure_at")?);
        match until - now() {
            seconds if seconds > 0 => Err(refusal(scope, key, seconds, last)),
            _ => Ok(()),
        }
    }

    /// Counts one failure in advance, in one statement, unless `key` is waiting out a
    /// back-off (then refused, counting nothing). The caller checks the secret next and
    /// calls `forgive` if it was right: requests sent together each pay, so none slips
    /// past a limit that a separate check and record would let through. The statement
    /// also writes when the wait it sets ends, so no half-counted state is ever seen,
    /// even by a request cancelled half-way.
    pub async fn attempt(&self, db: &Db, scope: Scope, key: &str) -> Result<(), Blocked> {
        let limits = self.limits(scope);
        if limits.free <= 0 {
            return Ok(());
        }
        // A row deleted (`clear`) between the insert and the update is tried again.
        for _ in 0..3 {
            let now = now();
            // The wait a first failure sets (none unless it is past the free ones).
            let first_wait_until = backoff(limits, 1).map_or(0, |wait| now + wait);
            let inserted = sqlx::query(
                "INSERT INTO throttles (scope, key, failures, last_failure_at, window_started_at, blocked_until) \
                 VALUES ($1, $2, 1, $3, $4, $5) ON CONFLICT (scope, key) DO NOTHING",
            )
            .bind(scope.name())
            .bind(key)
            .bind(now)
            .bind(now)
            .bind(first_wait_until)
            .execute(db)
            .await?;
            if inserted.rows_affected() == 1 {
                return Ok(());
            }
            let quiet_since = now - limits.window;
            let counted = sqlx::query(count_failure_sql())
                .bind(quiet_since)
                .bind(quiet_since)
                .bind(first_wait_until)
                .bind(limits.free)
                .bind(limits.free)
                .bind(now + MAX_WAIT + 1)
                .bind(now)
                .bind(limits.free)
                .bind(quiet_since)
                .bind(now)
                .bind(now)
                .bind(scope.name())
                .bind(key)
                .bind(now)
                .fetch_optional(db)
                .await?;
            if counted.is_some() {
                return Ok(());
            }
            // Waiting out a back-off: refused, as `check` says. Or the row went since
            // the insert: try again.
            self.check(db, scope, key).await?;
        }
        Err(refusal(scope, key, 1, now()))
    }

    /// Gives back one attempt counted by `attempt`: its secret was right. The count,
    /// the time of the last failure and the wait go back to what they were before it,
    /// so a right secret never starts or lengthens a wait.
    pub async fn forgive(&self, db: &Db, scope: Scope, key: &str) -> Result<(), AppError> {
        if self.limits(scope).free <= 0 {
            return Ok(());
        }
        sqlx::query(
            "UPDATE throttles SET failures = failures - 1, \
               last_failure_at = previous_failure_at, blocked_until = previous_blocked_until \
             WHERE scope = $1 AND key = $2 AND failures > 0",
        )
        .bind(scope.name())
        .bind(key)
        .execute(db)
        .await?;
        Ok(())
    }

    /// Counts one request against a quota and says whether it is within it, in one
    /// statement. The window starts with its first request and ends `window` seconds
    /// later, whatever comes meanwhile: requests past the quota do not move it.
    pub async fn take(&self, db: &Db, scope: Scope, key: &str) -> Result<(), Blocked> {
        let limits = self.limits(scope);
        if limits.free <= 0 {
            return Ok(());
        }
        let now = now();
        let row = sqlx::query(
            "INSERT INTO throttles (scope, key, failures, last_failure_at, window_started_at, blocked_until) \
             VALUES ($1, $2, 1, $3, $4, 0) \
             ON CONFLICT (scope, key) DO UPDATE SET \
               failures = CASE WHEN throttles.window_started_at <= $5 THEN 1 \
                               WHEN throttles.failures > $6 THEN throttles.failures \
                               ELSE throttles.failures + 1 END, \
               window_started_at = CASE WHEN throttles.window_started_at <= $7 THEN $8 \
                                        ELSE throttles.window_started_at END, \
               last_failure_at = $9 \
             RETURNING failures, window_started_at",
        )
        .bind(scope.name())
        .bind(key)
        .bind(now)
        .bind(now)
        .bind(now - limits.window)
        .bind(limits.free)
        .bind(now - limits.window)
        .bind(now)
        .bind(now)
        .fetch_one(db)
        .await?;
        let (count, started): (i64, i64) = (row.try_get("failures")?, row.try_get("window_started_at")?);
        if count > limits.free {
            return Err(refusal(scope, key, started + limits.window - now, started));
        }
        Ok(())
    }

    /// Forgets `key`'s failures (its owner just signed in).
    pub async fn clear(&self, db: &Db, scope: Scope, key: &str) -> Result<(), AppError> {
        sqlx::query("DELETE FROM throttles WHERE scope = $1 AND key = $2")
            .bind(scope.name())
            .bind(key)
            .execute(db)
            .await?;
        Ok(())
    }
}

fn refusal(scope: Scope, key: &str, seconds: i64, since: i64) -> Blocked {
    Blocked::Throttled(Throttled { seconds: seconds.max(1), scope, key: key.to_string(), since })
}

/// The key a client address is counted under: an IPv4 address as it is, an IPv6 one by
/// its /64 (one subscriber's prefix: an attacker holding it has 2^64 addresses to
/// rotate through), an IPv4-mapped IPv6 address as the IPv4 address it maps.
pub fn client_key(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(v4) => v4.to_string(),
        Err(_) => ip.to_string(),
    }
}

/// Counts one more failure on an existing row unless it is waiting out a back-off,
/// writing the wait the new count sets (`ladder`), in one statement. Built once.
fn count_failure_sql() -> &'static str {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let (ladder, steps) = ladder();
        format!(
            "UPDATE throttles SET \
               previous_failure_at = last_failure_at, previous_blocked_until = blocked_until, \
               failures = CASE WHEN last_failure_at < $1 THEN 1 ELSE failures + 1 END, \
               blocked_until = CASE WHEN last_failure_at < $2 THEN $3 \
                                    WHEN failures + 1 < $4 THEN 0 \
                                    WHEN failures + 1 - $5 >= {steps} THEN $6 \
                                    ELSE $7 + (CASE failures + 1 - $8{ladder} END) END, \
               window_started_at = CASE WHEN last_failure_at < $9 THEN $10 ELSE window_started_at END, \
               last_failure_at = $11 \
             WHERE scope = $12 AND key = $13 AND blocked_until <= $14 \
             RETURNING failures"
        )
    });
    &SQL
}

/// `backoff` spelled out for SQL, by the number of failures past the free ones: the
/// `WHEN extra THEN seconds` arms up to the cap, and how many there are (past them,
/// the cap).
fn ladder() -> (String, usize) {
    let arms: Vec<String> = (0u32..)
        .take_while(|extra| 2i64.pow(*extra) < MAX_WAIT)
        .map(|extra| format!(" WHEN {extra} THEN {}", 2i64.pow(extra) + 1))
        .collect();
    (arms.concat(), arms.len())
}

/// The wait after the `failures`-th failure, when it is past the free ones: 2^(extra)
/// seconds, at most 15 minutes. Times are whole seconds, so a failure stamped `now`
/// happened somewhere within that second: the wait ends a whole second later than it
/// says, or the first one (one second) could end the instant the clock ticks.
fn backoff(limits: Limits, failures: i64) -> Option<i64> {
    if failures < limits.free {
        return None;
    }
    let extra = (failures - limits.free).min(20) as u32; // 2^20 s is far past the cap
    Some(2i64.pow(extra).min(MAX_WAIT) + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { free: 5, window: 900, kind: Kind::Backoff };

    #[test]
    fn the_first_failures_are_free() {
        for failures in 0..5 {
            assert_eq!(backoff(LIMITS, failures), None, "{failures}");
        }
    }

    #[test]
    fn each_further_failure_doubles_the_wait() {
        // 1 s, 2 s, 8 s, counted from the second after the failure's.
        assert_eq!(backoff(LIMITS, 5), Some(2));
        assert_eq!(backoff(LIMITS, 6), Some(3));
        assert_eq!(backoff(LIMITS, 8), Some(9));
        assert_eq!(backoff(LIMITS, 60), Some(901), "capped at 15 minutes");
        assert_eq!(backoff(LIMITS, i64::MAX), Some(901), "no overflow");
    }

    #[test]
    fn the_sql_ladder_waits_what_backoff_says() {
        let (arms, steps) = ladder();
        for extra in 0..steps as i64 {
            let wait = backoff(LIMITS, LIMITS.free + extra).unwrap();
            assert!(arms.contains(&format!(" WHEN {extra} THEN {wait}")), "{arms}");
        }
        assert_eq!(backoff(LIMITS, LIMITS.free + steps as i64), Some(MAX_WAIT + 1), "past the arms: the cap");
        assert_eq!(backoff(LIMITS, LIMITS.free + steps as i64 - 1).map(|w| w < MAX_WAIT + 1), Some(true));
    }

    #[test]
    fn a_refusal_says_at_least_one_second() {
        let Blocked::Throttled(t) = refusal(Scope::Mail, "k", 0, 10) else { panic!() };
        assert_eq!(t.error().retry_after, Some(1));
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let a = client_key("2001:db8:1:2:aaaa::1");
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(client_key("2001:db8:1:2:ffff:ffff:ffff:ffff"), a, "the same subscriber");
        assert_ne!(client_key("2001:db8:1:3::1"), a, "the next /64 is someone else");
        assert_eq!(client_key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(client_key("192.0.2.7"), "192.0.2.7");
    }
}
