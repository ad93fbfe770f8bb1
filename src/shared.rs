//! Types and rules that the server and the browser both need.

use serde::{Deserialize, Serialize};

/// A signed-in user as the browser sees it: exactly the contract's user JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Equals the tokens' `sub`.
    pub id: String,
    pub username: String,
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
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The login page for a visitor who wanted `path`.
pub fn login_url_for(path: &str) -> String {
    format!("/login?next={}", encode_query_value(path))
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
    fn login_url_encodes_the_path() {
        assert_eq!(login_url_for("/profile"), "/login?next=%2Fprofile");
    }
}
