//! Input that can only hold valid values: parse, don't validate. A broken rule is a
//! `400` whose message names the field and the rule.

use crate::error::AppError;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use unicode_normalization::UnicodeNormalization;

/// A username: trimmed, NFKC-normalised, 3–32 letters or digits of any script, `_`, `.`
/// or `-`. Two names that differ only in case (or in compatibility forms, such as
/// full-width letters) are the same account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let name: String = raw.trim().nfkc().collect();
        let length = name.chars().count();
        if !(3..=32).contains(&length) {
            return Err(AppError::invalid("username", "username: 3 to 32 characters"));
        }
        if !name.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-')) {
            return Err(AppError::invalid("username", "username: only letters, digits, '_', '.' and '-'"));
        }
        Ok(Username(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What uniqueness and look-ups compare: the name under full Unicode case folding
    /// after compatibility decomposition (Unicode's compatibility caseless match,
    /// NFKD(fold(NFKD(fold(NFD(name))))), recomposed by NFKC). `ß` folds to `ss` and
    /// every sigma to `σ`, which lower-casing does not do.
    pub fn key(&self) -> String {
        use caseless::Caseless;
        let once: String = self.0.nfd().default_case_fold().collect();
        let twice: String = once.nfkd().default_case_fold().collect();
        twice.nfkc().collect()
    }

    /// The key failed sign-ins of a typed name are counted under: the name's key, or, for
    /// a name that breaks the rules (and so names no account), its plain lower-case form.
    pub fn throttle_key(raw: &str) -> String {
        Username::parse(raw).map(|name| name.key()).unwrap_or_else(|_| raw.trim().to_lowercase())
    }

    /// The key the first release stored (lower case after NFKC), still used to find
    /// accounts whose folded key another account already held (see migration 0006).
    pub fn legacy_key(&self) -> String {
        self.0.to_lowercase().nfkc().collect()
    }
}

/// A password: 8–1024 characters. It is never printed, logged or serialized.
pub struct Password(SecretString);

impl Password {
    pub fn parse(raw: String) -> Result<Self, AppError> {
        let length = raw.chars().count();
        if length < 8 {
            return Err(AppError::invalid("password", "password: at least 8 characters"));
        }
        if length > 1024 {
            return Err(AppError::invalid("password", "password: at most 1024 characters"));
        }
        Ok(Password(SecretString::from(raw)))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// An email address: trimmed, at most 254 characters, `local@domain` where the domain
/// has at least two labels, and one that the mailer can put in a `To:` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, AppError> {
        let address = raw.trim();
        let invalid = || AppError::invalid("email", "email: that is not a valid email address");
        if address.is_empty() || address.chars().count() > 254 {
            return Err(invalid());
        }
        let (local, domain) = address.rsplit_once('@').ok_or_else(invalid)?;
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        // What the mailer sends to, exactly: a quoted local part ("a b"@…) parses as an
        // address but not as a recipient, and its mail could never leave.
        let sendable = !local.contains('"')
            && address.parse::<lettre::Address>().is_ok()
            && address.parse::<lettre::message::Mailbox>().is_ok_and(|m| m.email.to_string() == address);
        if local.is_empty() || local.len() > 64 || !domain_ok || !sendable {
            return Err(invalid());
        }
        Ok(EmailAddress(address.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What look-ups compare: the whole address in lower case (in practice every mail
    /// provider treats the local part case-insensitively too).
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_addresses_are_trimmed_and_keyed_in_lower_case() {
        let email = EmailAddress::parse("  Ada.Lovelace+latch@Example.ORG ").unwrap();
        assert_eq!(email.as_str(), "Ada.Lovelace+latch@Example.ORG");
        assert_eq!(email.key(), "ada.lovelace+latch@example.org");
    }

    #[test]
    fn malformed_email_addresses_name_the_field() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.org",
            "ada@localhost",
            "ada@@example.org",
            "ada@exa mple.org",
            "a b@example.org",
            "\"a b\"@example.org",
            "\"ada\"@example.org",
            "ada@-example.org",
            "ada@example..org",
            "<ada@example.org>",
            "ada@example.org\r\nBcc: x@y.z",
        ] {
            let error = EmailAddress::parse(bad).unwrap_err();
            assert_eq!(error.field.as_deref(), Some("email"), "{bad:?}");
        }
        assert!(EmailAddress::parse(&format!("{}@example.org", "a".repeat(65))).is_err());
    }

    #[test]
    fn a_username_is_trimmed_and_normalised() {
        assert_eq!(Username::parse("  ada_l.ove-1 ").unwrap().as_str(), "ada_l.ove-1");
        // Full-width letters are their ASCII twins after NFKC.
        assert_eq!(Username::parse("ａｄａ").unwrap().as_str(), "ada");
    }

    #[test]
    fn letters_and_digits_of_any_script_are_allowed() {
        for name in ["Émile", "Пётр", "李小龍", "محمد", "user٣"] {
            assert!(Username::parse(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn case_and_compatibility_forms_share_one_key() {
        let a = Username::parse("Ada").unwrap();
        let b = Username::parse("aDA").unwrap();
        let c = Username::parse("ＡＤＡ").unwrap();
        assert_eq!(a.key(), b.key());
        assert_eq!(a.key(), c.key());
        assert_eq!(a.as_str(), "Ada", "the display form keeps its case");
        for (x, y) in [("straße", "STRASSE"), ("σασ", "ΣΑΣ"), ("ΣΑΣ", "σας"), ("ǅemal", "ǆEMAL"), ("ﬁle", "FILE")]
        {
            assert_eq!(Username::parse(x).unwrap().key(), Username::parse(y).unwrap().key(), "{x} = {y}");
        }
        assert_ne!(Username::parse("tаrget").unwrap().key(), Username::parse("target").unwrap().key(), "Cyrillic а");
    }

    #[test]
    fn usernames_breaking_a_rule_name_the_field_and_rule() {
        for bad in ["ab", "", "   ", &"a".repeat(33), "a b c", "ada;--", "o'neil", "<script>", "ada\u{0}x"] {
            let err = Username::parse(bad).unwrap_err();
            assert_eq!(err.status(), 400, "{bad:?}");
            assert_eq!(err.field.as_deref(), Some("username"));
            assert!(err.message.starts_with("username:"), "{}", err.message);
        }
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert!(Username::parse("ééé").is_ok());
        assert!(Username::parse(&"é".repeat(32)).is_ok());
        assert!(Password::parse("éééééééé".into()).is_ok());
    }

    #[test]
    fn passwords_are_8_to_1024_characters() {
        assert!(Password::parse("1234567".into()).unwrap_err().message.contains("at least 8"));
        assert!(Password::parse("12345678".into()).is_ok());
        assert!(Password::parse("x".repeat(1024)).is_ok());
        let err = Password::parse("x".repeat(1025)).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("password"));
    }

    #[test]
    fn a_password_never_prints() {
        let p = Password::parse("correct horse battery".into()).unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }
}
