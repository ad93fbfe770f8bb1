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
    pub fn read(&self, headers: &http::HeaderMap) -> Presented {
        let mut presented = Presented::default();
        for header in headers.get_all(http::header::COOKIE) {
            let Ok(text) = std::str::from_utf8(header.as_bytes()) else {
                presented.mentioned |= self.named_in(&String::from_utf8_lossy(header.as_bytes()));
                continue;
            };
            presented.mentioned |= self.named_in(text);
            for cookie in Cookie::split_parse_encoded(text).flatten() {
                let value = Some(cookie.value().to_string()).filter(|v| !v.is_empty());
                if cookie.name() == self.access_name {
                    presented.access = value;
                } else if cookie.name() == self.refresh_name {
                    presented.refresh = value;
                }
            }
        }
        presented
    }

    fn named_in(&self, header: &str) -> bool {
        header
            .split(';')
            .filter_map(|pair| pair.split_once('='))
            .any(|(name, _)| name.trim() == self.access_name || name.trim() == self.refresh_name)
    }
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
}
