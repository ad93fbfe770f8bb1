//! The two cookies: built in one place, so every `Set-Cookie` (login, refresh, logout)
//! carries the same attributes: `HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age`.

use super::settings::Settings;
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

    /// Whether the raw `Cookie` header names either cookie, even with a value too
    /// broken to parse (such a cookie is cleared like any other bad one).
    pub fn mentioned_in(&self, headers: &http::HeaderMap) -> bool {
        headers
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|value| std::str::from_utf8(value.as_bytes()).ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.split_once('='))
            .any(|(name, _)| name.trim() == self.access_name || name.trim() == self.refresh_name)
    }

    /// The access and refresh tokens the request carried, as sent.
    pub fn read(&self, jar: &Cookies) -> (Option<String>, Option<String>) {
        let value = |name: &str| jar.get(name).map(|c| c.value().to_string()).filter(|v| !v.is_empty());
        (value(&self.access_name), value(&self.refresh_name))
    }
}
