//! The two cookies: built in one place, so every `Set-Cookie` (login, refresh, logout)
//! carries the same attributes: `HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age`.

use crate::server::settings::Settings;
use tower_cookies::{
    cookie::{time::Duration, SameSite},
    Cookie, Cookies,
};

/// A freshly signed pair, ready to be set.
pub struct TokenPair {
    pub access: String,
    pub refresh: String,
}

#[derive(Clone, Debug)]
pub struct CookiePolicy {
    pub access_name: String,
    pub refresh_name: String,
    pub secure: bool,
    pub access_max_age: i64,
    pub refresh_max_age: i64,
}

impl CookiePolicy {
    pub fn from_settings(s: &Settings) -> Self {
        CookiePolicy {
            access_name: s.access_token_key.clone(),
            refresh_name: s.refresh_token_key.clone(),
            secure: s.cookie_secure,
            access_max_age: s.access_token_lifetime,
            refresh_max_age: s.refresh_token_lifetime,
        }
    }

    /// The device cookie's name: `latch_device`, with the access cookie's `__Host-` or
    /// `__Secure-` prefix if it has one.
    pub fn device_name(&self) -> String {
        let prefix = ["__Host-", "__Secure-"].into_iter().find(|p| self.access_name.starts_with(p)).unwrap_or("");
        format!("{prefix}latch_device")
    }

    /// The pending second step's cookie: `latch_mfa`, prefixed like the device cookie.
    pub fn mfa_name(&self) -> String {
        self.device_name().replace("latch_device", "latch_mfa")
    }

    /// Sets (or, with an empty token and no lifetime, clears) `latch_mfa`.
    pub fn set_mfa(&self, jar: &Cookies, token: String, max_age: i64) {
        jar.add(self.build(&self.mfa_name(), token, max_age));
    }

    /// Remembers that this browser signed in (see `guard::device`).
    pub fn set_device(&self, jar: &Cookies, token: String) {
        jar.add(self.build(&self.device_name(), token, self.refresh_max_age));
    }

    fn build(&self, name: &str, value: String, max_age: i64) -> Cookie<'static> {
        Cookie::build((name.to_string(), value))
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .path("/")
            .max_age(Duration::seconds(max_age))
            .build()
    }

    /// Sets both cookies; whatever the request carried is replaced.
    pub fn set(&self, jar: &Cookies, pair: TokenPair) {
        jar.add(self.build(&self.access_name, pair.access, self.access_max_age));
        jar.add(self.build(&self.refresh_name, pair.refresh, self.refresh_max_age));
    }

    /// Tells the browser to drop both cookies (`Max-Age=0`, same attributes).
    pub fn clear(&self, jar: &Cookies) {
        jar.add(self.build(&self.access_name, String::new(), 0));
        jar.add(self.build(&self.refresh_name, String::new(), 0));
    }

    /// What the request's `Cookie` headers carry, parsed the way tower-cookies parses
    /// them (percent-decoded). A cookie whose value cannot even be parsed still counts
    /// as `mentioned`, so it is cleared like any other bad one.
    ///
    /// A request that names either cookie twice presents neither: which one the browser
    /// set and which one a sibling subdomain planted cannot be told apart, so the caller
    /// is anonymous and both are cleared.
    pub fn read(&self, headers: &http::HeaderMap) -> Presented {
        let mut presented = Presented::default();
        let (mut accesses, mut refreshes) = (0, 0);
        for header in headers.get_all(http::header::COOKIE) {
            // Borrowed when the header is UTF-8, as it is from every browser: no copy.
            let text = String::from_utf8_lossy(header.as_bytes());
            let readable = matches!(text, std::borrow::Cow::Borrowed(_));
            // One pass, and only our two cookies' values are copied; the others (the
            // device cookie is as long as a token) are skipped, not decoded.
            for pair in text.split(';') {
                let Some((name, value)) = pair.split_once('=') else { continue };
                let slot = match name.trim() {
                    name if name == self.access_name => {
                        accesses += 1;
                        &mut presented.access
                    }
                    name if name == self.refresh_name => {
                        refreshes += 1;
                        &mut presented.refresh
                    }
                    _ => continue,
                };
                if readable {
                    *slot = decoded(name.trim(), value.trim());
                }
            }
        }
        presented.mentioned = accesses + refreshes > 0;
        if accesses > 1 || refreshes > 1 {
            presented.access = None;
            presented.refresh = None;
        }
        presented
    }
}

/// A cookie's value, percent-decoded as tower-cookies reads it. Tokens are base64url and
/// dots, so the decoder runs only for a value that has a `%` in it.
fn decoded(name: &str, value: &str) -> Option<String> {
    if !value.contains('%') {
        return Some(value.to_string()).filter(|v| !v.is_empty());
    }
    let cookie = Cookie::parse_encoded(format!("{name}={value}")).ok()?;
    Some(cookie.value().to_string()).filter(|v| !v.is_empty())
}

/// The tokens a request presented.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Presented {
    pub access: Option<String>,
    pub refresh: Option<String>,
    /// Either cookie was named, parseable or not.
    pub mentioned: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> CookiePolicy {
        CookiePolicy {
            access_name: "jwt_access".into(),
            refresh_name: "jwt_refresh".into(),
            secure: true,
            access_max_age: 300,
            refresh_max_age: 604_800,
        }
    }

    fn read(header: &[u8]) -> Presented {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::COOKIE, http::HeaderValue::from_bytes(header).unwrap());
        policy().read(&headers)
    }

    #[test]
    fn both_cookies_are_read_among_others() {
        let p = read(b"theme=dark; jwt_access=a.b.c; jwt_refresh=d.e.f");
        assert_eq!(p.access.as_deref(), Some("a.b.c"));
        assert_eq!(p.refresh.as_deref(), Some("d.e.f"));
        assert!(p.mentioned);
    }

    #[test]
    fn unparseable_or_empty_values_are_mentioned_but_not_read() {
        for header in [&b"jwt_access=%00%ff"[..], b"jwt_refresh=", b"jwt_access=\xff\xfe"] {
            let p = read(header);
            assert!(p.mentioned, "{header:?}");
            assert_eq!(p.access, None);
            assert_eq!(p.refresh, None);
        }
        assert!(!read(b"other=1").mentioned);
    }

    #[test]
    fn a_cookie_named_twice_presents_neither() {
        for header in
            [&b"jwt_access=a.b.c; jwt_access=x.y.z"[..], b"jwt_refresh=d.e.f; jwt_access=a.b.c; jwt_refresh=d.e.f"]
        {
            let p = read(header);
            assert!(p.mentioned, "{header:?}");
            assert_eq!((p.access, p.refresh), (None, None), "{header:?}");
        }
    }
}
