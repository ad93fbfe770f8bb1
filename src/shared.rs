//! Types and rules that the server and the browser both need.

use serde::{Deserialize, Serialize};

/// A signed-in user as the browser sees it: exactly the contract's user JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Equals the tokens' `sub`.
    pub id: String,
    pub username: String,
}

/// The caller's account, as `/api/account` answers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub totp: bool,
    pub passkeys: u32,
}

/// What signing in with a password answers: the user, or (with TOTP on) that a code
/// is needed next (`{"second_factor": "totp"}`, only the `latch_mfa` cookie set).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SignIn {
    SecondFactor { second_factor: String },
    User(User),
}

/// A TOTP setup: the secret as text and as an `otpauth://` URI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpSetup {
    pub secret: String,
    pub uri: String,
}

/// A pending TOTP setup as `/profile` shows it, with the URI's QR code (SVG).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpPending {
    pub secret: String,
    pub uri: String,
    pub qr_svg: String,
}

/// Ten recovery codes, shown once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

/// An address just set on `/profile`, waiting for its verification link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailChange {
    pub email: String,
    pub email_verified: bool,
}

/// One of the signed-in user's live sessions (a browser or device), for `/sessions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub id: String,
    /// The session of the request that asked.
    pub current: bool,
    /// "Chrome on Linux".
    pub device: String,
    pub user_agent: Option<String>,
    /// The client's address when it signed in.
    pub ip: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    pub last_used_at: i64,
    /// `password`, `password+totp`, `passkey` or `reset`.
    pub method: String,
}

/// A WebAuthn ceremony begun: its id, sent back with the browser's answer, and the
/// options for `navigator.credentials` (JSON, as webauthn-rs writes them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyCeremony {
    pub ceremony: String,
    pub options: String,
}

/// One of the signed-in user's passkeys, for `/profile`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyInfo {
    pub id: String,
    pub name: String,
    /// Unix seconds.
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// Everything `/profile` shows from the database, in one answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileData {
    pub account: Account,
    /// A TOTP setup begun and not yet turned on.
    pub pending_totp: Option<TotpPending>,
    pub passkeys: Vec<PasskeyInfo>,
}

/// What "Sign out everywhere else" ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoked {
    pub revoked: u64,
}

/// One entry of the user's own audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Unix seconds.
    pub at: i64,
    /// `register`, `login_ok`, `login_failed`, `throttled`, `logout`, `refresh`,
    /// `reuse_detected`, `password_changed`.
    pub event: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// How many times it happened: more than once for requests the throttle refused,
    /// which are one entry per window.
    #[serde(default = "one")]
    pub count: i64,
}

fn one() -> i64 {
    1
}

/// `1764151200` → `2025-11-26 10:00 UTC`: the same text on the server and in the
/// browser, so hydration agrees, with no date library in the WASM.
pub fn format_utc(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", secs / 3600, secs % 3600 / 60)
}

/// Where to go after signing in. Only a same-site relative path (one leading `/`, no
/// `//`, no `/\`, no control characters) is honoured; anything else goes home, so a
/// crafted link can never send a user off-site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.chars().any(|c| c.is_control() || c == '\\') =>
        {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

/// Percent-encodes a query-string value (RFC 3986 unreserved characters pass).
pub fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The login page for a visitor who wanted `path`.
pub fn login_url_for(path: &str) -> String {
    format!("/login?next={}", encode_query_value(path))
}

/// The second step of a sign-in (the TOTP code), then on to `next`.
pub fn second_step_url(next: &str) -> String {
    format!("/login/totp?next={}", encode_query_value(next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_accepts_same_site_paths() {
        assert_eq!(safe_next(Some("/profile")), "/profile");
        assert_eq!(safe_next(Some("/a/b?c=d")), "/a/b?c=d");
    }

    #[test]
    fn next_refuses_anything_that_could_leave_the_site() {
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example",
            "evil.example",
            "",
            "/\tevil",
            "/a\\b",
            "javascript:alert(1)",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?} must fall back home");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn utc_dates_are_formatted_without_a_library() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_utc(951_827_696), "2000-02-29 12:34 UTC");
        assert_eq!(format_utc(1_798_761_599), "2026-12-31 23:59 UTC");
    }

    #[test]
    fn login_url_encodes_the_path() {
        assert_eq!(login_url_for("/profile"), "/login?next=%2Fprofile");
    }
}
