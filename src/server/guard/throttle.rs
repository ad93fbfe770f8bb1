//! Throttling without victim lockout. Failed sign-ins are counted per account and per
//! client address, in the database (so every instance shares the counts). Past a few
//! free failures each further one doubles the wait (1 s, 2 s, 4 s, … at most 15 min),
//! and a quiet window forgets them. The account's count does not apply to a browser
//! holding the account's device cookie (`device`): an attacker hammering the account
//! from elsewhere cannot lock its owner out. Unknown usernames are counted like real
//! ones, so throttling tells nothing about who exists.

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
    /// Past `free` failures each further one doubles the wait (guessing passwords).
    Backoff,
    /// At most `free` in a window; then wait until the window has been quiet (mail).
    Quota,
}

#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// Failed sign-ins on one account (from clients it has not used before).
    pub account: Limits,
    /// Failed sign-ins from one client address, over all accounts.
    pub address: Limits,
    /// Registrations from one client address.
    pub registration: Limits,
    /// Password-reset requests from one client address.
    pub reset_requests: Limits,
    /// Reset and verification mails to one account.
    pub mails: Limits,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Scope {
    Account,
    Address,
    /// Failed sign-ins through one device cookie (`guard::device`).
    Device,
    /// Wrong passwords given in one session to confirm a change to the account.
    Session,
    Registration,
    ResetRequest,
    Mail,
}

impl Scope {
    fn name(self) -> &'static str {
        match self {
            Scope::Account => "account",
            Scope::Address => "address",
            Scope::Device => "device",
            Scope::Session => "session",
            Scope::Registration => "register",
            Scope::ResetRequest => "reset_request",
            Scope::Mail => "mail",
        }
    }
}

impl Policy {
    fn limits(&self, scope: Scope) -> Limits {
        match scope {
            Scope::Account | Scope::Device | Scope::Session => self.account,
            Scope::Address => self.address,
            Scope::Registration => self.registration,
            Scope::ResetRequest => self.reset_requests,
            Scope::Mail => self.mails,
        }
    }

    /// `429` with `Retry-After` while `key` is blocked in `scope`.
    pub async fn check(&self, db: &Db, scope: Scope, key: &str) -> Result<(), AppError> {
        let limits = self.limits(scope);
        if limits.free <= 0 {
            return Ok(()); // throttling off for this scope
        }
        let row = sqlx::query("SELECT failures, last_failure_at FROM throttles WHERE scope = $1 AND key = $2")
            .bind(scope.name())
            .bind(key)
            .fetch_optional(db)
            .await?;
        let Some(row) = row else { return Ok(()) };
        let (failures, last): (i64, i64) = (row.try_get("failures")?, row.try_get("last_failure_at")?);
        match wait(limits, failures, last, now()) {
            0 => Ok(()),
            seconds => Err(throttled(seconds)),
        }
    }

    /// Counts one failure (or, for registrations, one attempt), atomically.
    pub async fn record(&self, db: &Db, scope: Scope, key: &str) -> Result<(), AppError> {
        self.count(db, scope, key).await.map(drop)
    }

    /// Counts one attempt and says whether it is within the quota, in one statement:
    /// requests that arrive together each get their own count, so none slips past a
    /// limit that a separate check and record would let through.
    pub async fn take(&self, db: &Db, scope: Scope, key: &str) -> Result<(), AppError> {
        let limits = self.limits(scope);
        match self.count(db, scope, key).await? {
            Some(count) if count > limits.free => Err(throttled(limits.window)),
            _ => Ok(()),
        }
    }

    /// Adds one to `key`'s count (starting again after a quiet window) and returns the
    /// new count; `None` when the scope is off.
    async fn count(&self, db: &Db, scope: Scope, key: &str) -> Result<Option<i64>, AppError> {
        let limits = self.limits(scope);
        if limits.free <= 0 {
            return Ok(None);
        }
        let now = now();
        let row = sqlx::query(
            "INSERT INTO throttles (scope, key, failures, last_failure_at) VALUES ($1, $2, 1, $3) \
             ON CONFLICT (scope, key) DO UPDATE SET \
               failures = CASE WHEN throttles.last_failure_at < $4 THEN 1 ELSE throttles.failures + 1 END, \
               last_failure_at = $5 \
             RETURNING failures",
        )
        .bind(scope.name())
        .bind(key)
        .bind(now)
        .bind(now - limits.window)
        .bind(now)
        .fetch_one(db)
        .await?;
        Ok(Some(row.try_get("failures")?))
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

/// Seconds still to wait after `failures`, the last at `last`; 0 when free to try.
/// Times are whole seconds, so a failure stamped `last` happened somewhere within that
/// second: a back-off of `delay` seconds ends at `last + delay + 1`, or the first one
/// (one second) could end the instant the clock ticks, after a few milliseconds.
fn wait(limits: Limits, failures: i64, last: i64, now: i64) -> i64 {
    if failures < limits.free || now - last > limits.window {
        return 0;
    }
    if limits.kind == Kind::Quota {
        return (last + limits.window - now).max(1);
    }
    let extra = (failures - limits.free).min(20) as u32; // 2^20 s is far past the cap
    let delay = 2i64.pow(extra).min(15 * 60);
    (last + delay + 1 - now).max(0)
}

fn throttled(seconds: i64) -> AppError {
    AppError {
        retry_after: Some(seconds as u64),
        ..AppError::new(ErrorCode::Throttled, format!("too many attempts; try again in {seconds} s"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { free: 5, window: 900, kind: Kind::Backoff };

    #[test]
    fn the_first_failures_are_free() {
        for failures in 0..5 {
            assert_eq!(wait(LIMITS, failures, 1000, 1000), 0, "{failures}");
        }
    }

    #[test]
    fn each_further_failure_doubles_the_wait() {
        // 1 s, 2 s, 8 s, counted from the second after the failure's.
        assert_eq!(wait(LIMITS, 5, 1000, 1000), 2);
        assert_eq!(wait(LIMITS, 5, 1000, 1001), 1, "not over when the clock ticks");
        assert_eq!(wait(LIMITS, 5, 1000, 1002), 0);
        assert_eq!(wait(LIMITS, 6, 1000, 1000), 3);
        assert_eq!(wait(LIMITS, 8, 1000, 1000), 9);
        assert_eq!(wait(LIMITS, 8, 1000, 1005), 4, "the wait runs from the last failure");
        assert_eq!(wait(LIMITS, 60, 1000, 1000), 901, "capped at 15 minutes");
    }

    #[test]
    fn a_quota_waits_out_its_window() {
        let quota = Limits { free: 3, window: 3600, kind: Kind::Quota };
        assert_eq!(wait(quota, 2, 1000, 1000), 0);
        assert_eq!(wait(quota, 3, 1000, 1000), 3600);
        assert_eq!(wait(quota, 3, 1000, 1600), 3000);
        assert_eq!(wait(quota, 3, 1000, 4601), 0);
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

    #[test]
    fn a_quiet_window_forgets() {
        assert_eq!(wait(LIMITS, 60, 1000, 1000 + 901), 0);
    }
}
