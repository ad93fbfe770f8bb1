//! Settings: `Leptos.toml` (compiled in, then read again from the working directory if
//! present), each key overridable by an environment variable of the same name in upper
//! case. A bad value stops the start with one line naming the key.

use secrecy::{ExposeSecret, SecretString};
use std::{collections::BTreeMap, fmt, path::Path};

/// The defaults every build carries, so a first start needs no file and no variable.
const EMBEDDED: &str = include_str!("../../Leptos.toml");

#[derive(Clone)]
pub struct Settings {
    /// May hold a password, so it is never printed.
    pub database_url: SecretString,
    /// `None`: generate one and keep it in the database.
    pub jwt_secret: Option<SecretString>,
    pub access_token_lifetime: i64,
    pub refresh_token_lifetime: i64,
    pub refresh_reuse_grace: i64,
    pub cookie_secure: bool,
    pub access_token_key: String,
    pub refresh_token_key: String,
    pub throttle_account_failures: i64,
    pub throttle_address_failures: i64,
    pub throttle_registrations: i64,
    pub key_propagation: i64,
    pub jwt_algorithm: super::session::keys::Signing,
    /// `https://app.example.com`: the origin cross-site checks compare against, for a
    /// proxy that rewrites `Host`, and the origin of every link in a mail. `None`: the
    /// request's `Host` for cross-site checks, `http://` + the listening address for links.
    pub public_origin: Option<String>,
    /// `smtp://user:pass@host:port` or `smtps://…`; may hold a password, so never printed.
    /// `None`: each message is written to `outbox_dir` instead.
    pub smtp_url: Option<SecretString>,
    pub outbox_dir: std::path::PathBuf,
    pub mail_from: String,
    /// The longest wait between two delivery attempts of one message.
    pub mail_retry_max: i64,
    pub reset_token_lifetime: i64,
    pub verify_token_lifetime: i64,
    /// Password-reset requests from one client address in an hour.
    pub throttle_reset_requests: i64,
    /// Reset (and verification) mails to one account in an hour.
    pub throttle_reset_mails: i64,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: super::guard::client::TrustedProxies,
}

/// Why the settings were refused: always names the key.
#[derive(Debug, PartialEq, Eq)]
pub struct SettingsError(pub String);

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SettingsError {}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &redact_url(self.database_url.expose_secret()))
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "[set]"))
            .field("access_token_lifetime", &self.access_token_lifetime)
            .field("refresh_token_lifetime", &self.refresh_token_lifetime)
            .field("refresh_reuse_grace", &self.refresh_reuse_grace)
            .field("cookie_secure", &self.cookie_secure)
            .field("access_token_key", &self.access_token_key)
            .field("refresh_token_key", &self.refresh_token_key)
            .field("throttle_account_failures", &self.throttle_account_failures)
            .field("throttle_address_failures", &self.throttle_address_failures)
            .field("throttle_registrations", &self.throttle_registrations)
            .field("key_propagation", &self.key_propagation)
            .field("jwt_algorithm", &self.jwt_algorithm)
            .field("public_origin", &self.public_origin)
            .field("smtp_url", &self.smtp_url.as_ref().map(|url| redact_url(url.expose_secret())))
            .field("outbox_dir", &self.outbox_dir)
            .field("mail_from", &self.mail_from)
            .field("mail_retry_max", &self.mail_retry_max)
            .field("reset_token_lifetime", &self.reset_token_lifetime)
            .field("verify_token_lifetime", &self.verify_token_lifetime)
            .field("throttle_reset_requests", &self.throttle_reset_requests)
            .field("throttle_reset_mails", &self.throttle_reset_mails)
            .field("trusted_proxies", &self.trusted_proxies)
            .finish()
    }
}

/// `postgres://user:secret@host/db` → `postgres://…@host/db`, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://…{}", &url[..scheme_end], &url[at..])
        }
        _ => url.to_string(),
    }
}

impl Settings {
    /// The settings of this process: embedded defaults, `./Leptos.toml`, then the
    /// environment.
    pub fn load() -> Result<Self, SettingsError> {
        let local = Path::new("Leptos.toml");
        let file = if local.exists() {
            Some(std::fs::read_to_string(local).map_err(|e| SettingsError(format!("Leptos.toml: cannot read: {e}")))?)
        } else {
            None
        };
        Self::from_sources(file.as_deref(), |key| std::env::var(key).ok())
    }

    /// Layers the sources; `env` answers an upper-case key. Split out so tests need not
    /// touch the process environment.
    pub fn from_sources(file: Option<&str>, env: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let mut values = parse_toml(EMBEDDED, "embedded Leptos.toml")?;
        if let Some(file) = file {
            values.extend(parse_toml(file, "Leptos.toml")?);
        }
        let get = |key: &str| -> Result<String, SettingsError> {
            env(&key.to_ascii_uppercase())
                .or_else(|| values.get(key).cloned())
                .ok_or_else(|| SettingsError(format!("{}: missing", key.to_ascii_uppercase())))
        };

        let database_url = get("database_url")?;
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(SettingsError("DATABASE_URL: must start with sqlite:// or postgres://".into()));
        }
        let jwt_secret = get("jwt_secret")?;
        let jwt_secret = if jwt_secret.is_empty() {
            None
        } else if jwt_secret.len() < 32 {
            return Err(SettingsError("JWT_SECRET: must be at least 32 bytes (use 256 random bits)".into()));
        } else {
            Some(SecretString::from(jwt_secret))
        };

        let settings = Settings {
            database_url: SecretString::from(database_url),
            jwt_secret,
            access_token_lifetime: seconds(&get("access_token_lifetime")?, "ACCESS_TOKEN_LIFETIME", 1)?,
            refresh_token_lifetime: seconds(&get("refresh_token_lifetime")?, "REFRESH_TOKEN_LIFETIME", 1)?,
            refresh_reuse_grace: seconds(&get("refresh_reuse_grace")?, "REFRESH_REUSE_GRACE", 0)?,
            cookie_secure: boolean(&get("cookie_secure")?, "COOKIE_SECURE")?,
            access_token_key: cookie_name(get("access_token_key")?, "ACCESS_TOKEN_KEY")?,
            refresh_token_key: cookie_name(get("refresh_token_key")?, "REFRESH_TOKEN_KEY")?,
            throttle_account_failures: count(&get("throttle_account_failures")?, "THROTTLE_ACCOUNT_FAILURES")?,
            throttle_address_failures: count(&get("throttle_address_failures")?, "THROTTLE_ADDRESS_FAILURES")?,
            throttle_registrations: count(&get("throttle_registrations")?, "THROTTLE_REGISTRATIONS")?,
            key_propagation: seconds(&get("key_propagation")?, "KEY_PROPAGATION", 2)?,
            jwt_algorithm: match get("jwt_algorithm")?.as_str() {
                "HS256" => super::session::keys::Signing::Hs256,
                "EdDSA" => super::session::keys::Signing::EdDsa,
                other => return Err(SettingsError(format!("JWT_ALGORITHM: must be HS256 or EdDSA, got {other:?}"))),
            },
            public_origin: match get("public_origin")?.trim() {
                "" => None,
                origin
                    if (origin.starts_with("https://") || origin.starts_with("http://"))
                        && !origin.trim_start_matches("https://").trim_start_matches("http://").contains('/') =>
                {
                    Some(origin.to_string())
                }
                other => {
                    return Err(SettingsError(format!(
                        "PUBLIC_ORIGIN: must be scheme://host[:port] with no path, got {other:?}"
                    )))
                }
            },
            smtp_url: match get("smtp_url")?.trim() {
                "" => None,
                url if url.starts_with("smtp://") || url.starts_with("smtps://") => {
                    Some(SecretString::from(url.to_string()))
                }
                other => {
                    return Err(SettingsError(format!(
                        "SMTP_URL: must start with smtp:// or smtps://, got {:?}",
                        redact_url(other)
                    )))
                }
            },
            outbox_dir: match get("outbox_dir")?.trim() {
                "" => return Err(SettingsError("OUTBOX_DIR: must name a folder".into())),
                dir => std::path::PathBuf::from(dir),
            },
            mail_from: mailbox(get("mail_from")?, "MAIL_FROM")?,
            mail_retry_max: seconds(&get("mail_retry_max")?, "MAIL_RETRY_MAX", 1)?,
            reset_token_lifetime: seconds(&get("reset_token_lifetime")?, "RESET_TOKEN_LIFETIME", 1)?,
            verify_token_lifetime: seconds(&get("verify_token_lifetime")?, "VERIFY_TOKEN_LIFETIME", 1)?,
            throttle_reset_requests: count(&get("throttle_reset_requests")?, "THROTTLE_RESET_REQUESTS")?,
            throttle_reset_mails: count(&get("throttle_reset_mails")?, "THROTTLE_RESET_MAILS")?,
            trusted_proxies: super::guard::client::TrustedProxies::parse(&get("trusted_proxies")?)
                .map_err(|e| SettingsError(format!("TRUSTED_PROXIES: {e}")))?,
        };
        // Browsers drop a `__Host-` or `__Secure-` cookie that is not `Secure`.
        for (key, name) in
            [("ACCESS_TOKEN_KEY", &settings.access_token_key), ("REFRESH_TOKEN_KEY", &settings.refresh_token_key)]
        {
            if (name.starts_with("__Host-") || name.starts_with("__Secure-")) && !settings.cookie_secure {
                return Err(SettingsError(format!("{key}: a __Host- or __Secure- name needs COOKIE_SECURE=true")));
            }
        }
        if settings.access_token_key == settings.refresh_token_key {
            return Err(SettingsError("REFRESH_TOKEN_KEY: must differ from ACCESS_TOKEN_KEY".into()));
        }
        if settings.refresh_token_lifetime < settings.access_token_lifetime {
            return Err(SettingsError("REFRESH_TOKEN_LIFETIME: must not be shorter than ACCESS_TOKEN_LIFETIME".into()));
        }
        Ok(settings)
    }
}

/// Flattens the TOML table into key → value text, so file and environment values are
/// parsed by the same code.
fn parse_toml(text: &str, source: &str) -> Result<BTreeMap<String, String>, SettingsError> {
    let table: toml::Table = text.parse().map_err(|e| SettingsError(format!("{source}: {e}")))?;
    Ok(table
        .into_iter()
        .map(|(key, value)| {
            let text = match value {
                toml::Value::String(s) => s,
                other => other.to_string(),
            };
            (key.to_ascii_lowercase(), text)
        })
        .collect())
}

fn seconds(value: &str, key: &str, min: i64) -> Result<i64, SettingsError> {
    match value.trim().parse::<i64>() {
        // Ten years: past that, a lifetime is a mistake, and it keeps `iat + lifetime` far
        // from overflow.
        Ok(n) if (min..=315_360_000).contains(&n) => Ok(n),
        _ => Err(SettingsError(format!(
            "{key}: must be a whole number of seconds from {min} to 315360000, got {value:?}"
        ))),
    }
}

fn count(value: &str, key: &str) -> Result<i64, SettingsError> {
    match value.trim().parse::<i64>() {
        Ok(n) if (0..=1_000_000).contains(&n) => Ok(n),
        _ => Err(SettingsError(format!("{key}: must be a whole number from 0 to 1000000, got {value:?}"))),
    }
}

fn boolean(value: &str, key: &str) -> Result<bool, SettingsError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(SettingsError(format!("{key}: must be true or false, got {value:?}"))),
    }
}

/// `Name <address>` or a bare address, as lettre will send it.
fn mailbox(value: String, key: &str) -> Result<String, SettingsError> {
    match value.trim().parse::<lettre::message::Mailbox>() {
        Ok(_) => Ok(value.trim().to_string()),
        Err(_) => {
            Err(SettingsError(format!("{key}: not a mail address such as \"Latch <noreply@example.com>\": {value:?}")))
        }
    }
}

/// A cookie name is an RFC 6265 token.
fn cookie_name(value: String, key: &str) -> Result<String, SettingsError> {
    let ok = !value.is_empty() && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if ok {
        Ok(value)
    } else {
        Err(SettingsError(format!("{key}: not a valid cookie name: {value:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_env(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::from_sources(None, move |key| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))
    }

    #[test]
    fn the_embedded_defaults_are_the_contracts() {
        let s = with_env(&[]).unwrap();
        assert_eq!(s.database_url.expose_secret(), "sqlite://data/latch.db");
        assert!(s.jwt_secret.is_none());
        assert_eq!(s.access_token_lifetime, 300);
        assert_eq!(s.refresh_token_lifetime, 604_800);
        assert_eq!(s.refresh_reuse_grace, 10);
        assert!(s.cookie_secure);
        assert_eq!(s.access_token_key, "jwt_access");
        assert_eq!(s.refresh_token_key, "jwt_refresh");
        assert_eq!(s.throttle_account_failures, 5);
        assert_eq!(s.throttle_address_failures, 20);
        assert_eq!(s.throttle_registrations, 20);
        assert_eq!(s.key_propagation, 60);
        assert!(s.smtp_url.is_none());
        assert_eq!(s.outbox_dir, std::path::Path::new("data/outbox"));
        assert_eq!(s.mail_from, "Latch <noreply@localhost>");
        assert_eq!(s.reset_token_lifetime, 1800);
        assert_eq!(s.verify_token_lifetime, 86_400);
        assert_eq!(s.throttle_reset_requests, 20);
        assert_eq!(s.throttle_reset_mails, 5);
    }

    #[test]
    fn the_environment_overrides_the_file_which_overrides_the_defaults() {
        let file = "access_token_lifetime = 60\nrefresh_reuse_grace = 3\n";
        let s =
            Settings::from_sources(Some(file), |k| (k == "ACCESS_TOKEN_LIFETIME").then(|| "5".to_string())).unwrap();
        assert_eq!(s.access_token_lifetime, 5);
        assert_eq!(s.refresh_reuse_grace, 3);
    }

    #[test]
    fn a_bad_value_names_its_key() {
        for (key, value) in [
            ("ACCESS_TOKEN_LIFETIME", "soon"),
            ("REFRESH_TOKEN_LIFETIME", "-1"),
            ("COOKIE_SECURE", "maybe"),
            ("JWT_SECRET", "short"),
            ("DATABASE_URL", "mysql://x"),
            ("ACCESS_TOKEN_KEY", "a b"),
            ("THROTTLE_ACCOUNT_FAILURES", "-1"),
            ("JWT_ALGORITHM", "none"),
            ("PUBLIC_ORIGIN", "app.example.com/path"),
            ("SMTP_URL", "http://mail.example.com"),
            ("MAIL_FROM", "not an address"),
            ("RESET_TOKEN_LIFETIME", "0"),
            ("TRUSTED_PROXIES", "10.0.0.0/40"),
        ] {
            let err = with_env(&[(key, value)]).unwrap_err();
            assert!(err.0.starts_with(key), "{err} should name {key}");
        }
    }

    #[test]
    fn host_prefixed_cookie_names_need_secure_cookies() {
        let names = [("ACCESS_TOKEN_KEY", "__Host-jwt_access"), ("REFRESH_TOKEN_KEY", "__Host-jwt_refresh")];
        assert!(with_env(&names).is_ok());
        let err = with_env(&[names[0], names[1], ("COOKIE_SECURE", "false")]).unwrap_err();
        assert!(err.0.starts_with("ACCESS_TOKEN_KEY"), "{err}");
    }

    #[test]
    fn secrets_never_reach_debug_output() {
        let s = with_env(&[
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef-very-secret"),
            ("DATABASE_URL", "postgres://latch:hunter2@db/latch"),
            ("SMTP_URL", "smtp://mailer:swordfish@mail.example.com:587"),
        ])
        .unwrap();
        let printed = format!("{s:?}");
        assert!(!printed.contains("very-secret"));
        assert!(!printed.contains("hunter2"));
        assert!(!printed.contains("swordfish"));
        assert!(printed.contains("@db/latch"));
    }
}
