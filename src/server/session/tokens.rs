//! Tokens: compact JWS (HS256 or EdDSA) with a `kid`, claims per the contract.
//! Validation pins the algorithm to the key's, picks the key by `kid` (an unknown one is
//! refused), requires `exp`, `iat`, `sub`, `iss` and `aud`, uses zero leeway, and accepts
//! a token only for its own `typ`.
//!
//! Signing is jsonwebtoken's `encode`. Verifying runs on every request, so it reads each
//! part once: the header, then jsonwebtoken's signature check, then the claims
//! (`jsonwebtoken::decode` parses the header twice and the claims twice, and finding the
//! key by `kid` needed the header a third time).

use super::keys::KeyRing;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use jsonwebtoken::{Algorithm, Header};
use serde::{de::IgnoredAny, Deserialize, Serialize};
use std::sync::{Arc, RwLock};

/// Who issues Latch's tokens, and for whom: checked, so a token minted by another
/// service sharing the secret is not taken for one of ours.
pub const ISSUER: &str = "latch";
pub const AUDIENCE: &str = "latch";

/// Browsers drop cookies over 4 KB; nothing that long is ours.
const MAX_TOKEN_LEN: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    Access,
    Refresh,
    /// A device cookie's: this browser signed in to the account `sub` (`sid` names the
    /// device). Never a session.
    Device,
    /// A `latch_mfa` cookie's: the password step of a sign-in by `sub` succeeded and
    /// its second step (challenge `sid`) is awaited. Never a session.
    Mfa,
}

/// How long a sign-in waits for its second step.
pub const MFA_LIFETIME: i64 = 300;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The server-side session this token belongs to.
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub typ: TokenType,
    pub iss: String,
    pub aud: String,
    /// The username, in access tokens only: pages show it without a database read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Never set by Latch; honoured if present, as RFC 7519 asks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

/// The JOSE header as far as verifying needs it. A header that points elsewhere for its
/// key (`jku`, `jwk`, `x5u`, `x5c`) or names extensions that must be understood (`crit`)
/// is an attack, whatever it points to.
#[derive(Deserialize)]
struct JoseHeader {
    alg: Algorithm,
    kid: Option<String>,
    jku: Option<IgnoredAny>,
    jwk: Option<IgnoredAny>,
    x5u: Option<IgnoredAny>,
    x5c: Option<IgnoredAny>,
    crit: Option<IgnoredAny>,
}

impl JoseHeader {
    fn points_elsewhere(&self) -> bool {
        self.jku.is_some() || self.jwk.is_some() || self.x5u.is_some() || self.x5c.is_some() || self.crit.is_some()
    }
}

fn json_part<T: serde::de::DeserializeOwned>(part: &str) -> Option<T> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
}

#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    /// Malformed, wrong signature, wrong algorithm or key, expired, or another `typ`.
    Invalid,
    /// Signing failed: a bug, never the client's fault.
    Sign,
}

pub struct Tokens {
    /// Replaced whole when the keys are reloaded; requests hold the ring they started with.
    ring: RwLock<Arc<KeyRing>>,
    pub access_lifetime: i64,
    pub refresh_lifetime: i64,
}

impl Tokens {
    pub fn new(ring: KeyRing, access_lifetime: i64, refresh_lifetime: i64) -> Self {
        Tokens { ring: RwLock::new(Arc::new(ring)), access_lifetime, refresh_lifetime }
    }

    /// The public keys, for `/.well-known/jwks.json`.
    pub fn jwks(&self) -> serde_json::Value {
        self.ring().jwks()
    }

    fn ring(&self) -> Arc<KeyRing> {
        match self.ring.read() {
            Ok(ring) => ring.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Puts freshly loaded keys in force.
    pub fn replace_ring(&self, ring: KeyRing) {
        match self.ring.write() {
            Ok(mut current) => *current = Arc::new(ring),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(ring),
        }
    }

    /// The `kid` new tokens are signed with.
    pub fn kid(&self) -> String {
        self.ring().signing().kid.clone()
    }

    /// Signs a token of type `typ`, issued at `now`, living its type's lifetime.
    pub fn issue(
        &self,
        typ: TokenType,
        sub: &str,
        sid: &str,
        jti: &str,
        name: Option<&str>,
        now: i64,
    ) -> Result<String, TokenError> {
        let lifetime = match typ {
            TokenType::Access => self.access_lifetime,
            // A device is remembered as long as a key that signed it can verify it.
            TokenType::Refresh | TokenType::Device => self.refresh_lifetime,
            TokenType::Mfa => MFA_LIFETIME,
        };
        let claims = Claims {
            sub: sub.to_string(),
            sid: sid.to_string(),
            iat: now,
            exp: now + lifetime,
            jti: jti.to_string(),
            typ,
            iss: ISSUER.to_string(),
            aud: AUDIENCE.to_string(),
            name: name.map(str::to_string),
            nbf: None,
        };
        let ring = self.ring();
        let key = ring.signing();
        let mut header = Header::new(key.algorithm);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, &claims, &key.encoding).map_err(|_| TokenError::Sign)
    }

    /// The claims of a token that is genuine, current and of type `expected`.
    pub fn verify(&self, token: &str, expected: TokenType) -> Result<Claims, TokenError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Invalid);
        }
        self.check(token, expected, super::super::db::now()).ok_or(TokenError::Invalid)
    }

    /// `verify` at time `now`: each part of the token read once.
    fn check(&self, token: &str, expected: TokenType, now: i64) -> Option<Claims> {
        let (message, signature) = token.rsplit_once('.')?;
        let (header, payload) = message.split_once('.')?;
        let header: JoseHeader = json_part(header)?;
        if header.points_elsewhere() {
            return None;
        }
        let ring = self.ring();
        let key = ring.find(header.kid.as_deref()?)?;
        // The key's own algorithm, never the one the token names: no HS256 token is
        // checked with an EdDSA public key as its secret, and no "none".
        if header.alg != key.algorithm {
            return None;
        }
        if !jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key.decoding, key.algorithm).ok()? {
            return None;
        }
        let claims: Claims = json_part(payload)?;
        // Zero leeway: one server clock needs no allowance for skew.
        let current = claims.exp >= now && claims.nbf.is_none_or(|nbf| nbf <= now);
        let ours = claims.iss == ISSUER && claims.aud == AUDIENCE;
        (current && ours && claims.typ == expected && claims.exp - claims.iat > 0).then_some(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::session::keys::Key;
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    use sha2::{Digest, Sha256};

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn tokens() -> Tokens {
        Tokens::new(KeyRing::single(Key::from_secret(SECRET)), 300, 604_800)
    }

    fn now() -> i64 {
        crate::server::db::now()
    }

    fn parts(token: &str) -> (serde_json::Value, serde_json::Value) {
        let mut it = token.split('.');
        let h = URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap();
        let c = URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap();
        (serde_json::from_slice(&h).unwrap(), serde_json::from_slice(&c).unwrap())
    }

    /// Signs arbitrary header and claims JSON with `secret`, as an attacker holding (or
    /// guessing) a key would.
    fn forge(header: serde_json::Value, claims: serde_json::Value, secret: &[u8]) -> String {
        let h = URL_SAFE_NO_PAD.encode(header.to_string());
        let c = URL_SAFE_NO_PAD.encode(claims.to_string());
        let input = format!("{h}.{c}");
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(hmac_sign(secret, input.as_bytes())))
    }

    fn hmac_sign(secret: &[u8], data: &[u8]) -> Vec<u8> {
        // HMAC-SHA256 by the RFC 2104 construction, so the tests need no extra crate.
        let mut key = [0u8; 64];
        if secret.len() > 64 {
            key[..32].copy_from_slice(&Sha256::digest(secret));
        } else {
            key[..secret.len()].copy_from_slice(secret);
        }
        let inner: Vec<u8> = key.iter().map(|b| b ^ 0x36).chain(data.iter().copied()).collect();
        let inner_hash = Sha256::digest(&inner);
        let outer: Vec<u8> = key.iter().map(|b| b ^ 0x5c).chain(inner_hash.iter().copied()).collect();
        Sha256::digest(&outer).to_vec()
    }

    fn claims(typ: &str, iat: i64, exp: i64) -> serde_json::Value {
        serde_json::json!({
            "sub": "u1", "sid": "s1", "iat": iat, "exp": exp, "jti": "j1", "typ": typ,
            "iss": "latch", "aud": "latch"
        })
    }

    fn header(t: &Tokens) -> serde_json::Value {
        serde_json::json!({"alg": "HS256", "typ": "JWT", "kid": t.kid()})
    }

    #[test]
    fn an_access_token_carries_every_claim_and_a_kid() {
        let t = tokens();
        let n = now();
        let token = t.issue(TokenType::Access, "u1", "s1", "j1", Some("ada"), n).unwrap();
        let (h, c) = parts(&token);
        assert_eq!(h["alg"], "HS256");
        assert_eq!(h["kid"], t.kid());
        assert_eq!(c["sub"], "u1");
        assert_eq!(c["sid"], "s1");
        assert_eq!(c["jti"], "j1");
        assert_eq!(c["typ"], "access");
        assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 300);
        let verified = t.verify(&token, TokenType::Access).unwrap();
        assert_eq!(verified.name.as_deref(), Some("ada"));
    }

    #[test]
    fn a_refresh_token_lives_the_refresh_lifetime() {
        let t = tokens();
        let token = t.issue(TokenType::Refresh, "u1", "s1", "j2", None, now()).unwrap();
        let c = t.verify(&token, TokenType::Refresh).unwrap();
        assert_eq!(c.exp - c.iat, 604_800);
        assert_eq!(c.name, None);
    }

    #[test]
    fn a_token_is_accepted_only_for_its_own_typ() {
        let t = tokens();
        let access = t.issue(TokenType::Access, "u1", "s1", "j1", Some("ada"), now()).unwrap();
        let refresh = t.issue(TokenType::Refresh, "u1", "s1", "j1", None, now()).unwrap();
        assert_eq!(t.verify(&access, TokenType::Refresh), Err(TokenError::Invalid));
        assert_eq!(t.verify(&refresh, TokenType::Access), Err(TokenError::Invalid));
    }

    #[test]
    fn expired_by_one_second_is_refused() {
        let t = tokens();
        let n = now();
        let token = forge(header(&t), claims("access", n - 301, n - 1), SECRET);
        assert_eq!(t.verify(&token, TokenType::Access), Err(TokenError::Invalid));
        let fresh = forge(header(&t), claims("access", n, n + 300), SECRET);
        assert!(t.verify(&fresh, TokenType::Access).is_ok(), "the forge helper itself signs correctly");
    }

    #[test]
    fn alg_none_is_refused() {
        let t = tokens();
        let n = now();
        let h = URL_SAFE_NO_PAD.encode(serde_json::json!({"alg": "none", "kid": t.kid()}).to_string());
        let c = URL_SAFE_NO_PAD.encode(claims("access", n, n + 300).to_string());
        assert_eq!(t.verify(&format!("{h}.{c}."), TokenType::Access), Err(TokenError::Invalid));
    }

    #[test]
    fn another_algorithm_is_refused_even_with_the_right_key() {
        let t = tokens();
        let n = now();
        let token = forge(serde_json::json!({"alg": "HS512", "kid": t.kid()}), claims("access", n, n + 300), SECRET);
        assert_eq!(t.verify(&token, TokenType::Access), Err(TokenError::Invalid));
    }

    #[test]
    fn a_token_signed_with_another_key_is_refused() {
        let t = tokens();
        let n = now();
        let token = forge(header(&t), claims("access", n, n + 300), b"another-secret-another-secret-xx");
        assert_eq!(t.verify(&token, TokenType::Access), Err(TokenError::Invalid));
    }

    #[test]
    fn a_tampered_payload_is_refused() {
        let t = tokens();
        let token = t.issue(TokenType::Access, "u1", "s1", "j1", Some("ada"), now()).unwrap();
        let mut segments: Vec<String> = token.split('.').map(str::to_string).collect();
        let (_, mut c) = parts(&token);
        c["sub"] = "admin".into();
        segments[1] = URL_SAFE_NO_PAD.encode(c.to_string());
        assert_eq!(t.verify(&segments.join("."), TokenType::Access), Err(TokenError::Invalid));
    }

    #[test]
    fn foreign_key_headers_and_unknown_kids_are_refused() {
        let t = tokens();
        let n = now();
        for extra in [
            serde_json::json!({"kid": "someone-elses"}),
            serde_json::json!({"jku": "https://evil.example/jwks.json"}),
            serde_json::json!({"x5u": "https://evil.example/cert.pem"}),
            serde_json::json!({"jwk": {"kty": "oct", "k": "AAAA"}}),
            serde_json::json!({"x5c": ["MIIB"]}),
        ] {
            let mut h = header(&t);
            for (k, v) in extra.as_object().unwrap() {
                h[k] = v.clone();
            }
            let token = forge(h.clone(), claims("access", n, n + 300), SECRET);
            assert_eq!(t.verify(&token, TokenType::Access), Err(TokenError::Invalid), "{h}");
        }
    }

    #[test]
    fn a_future_nbf_is_refused() {
        let t = tokens();
        let n = now();
        let mut c = claims("access", n, n + 300);
        c["nbf"] = (n + 100).into();
        assert_eq!(t.verify(&forge(header(&t), c, SECRET), TokenType::Access), Err(TokenError::Invalid));
    }

    #[test]
    fn missing_claims_are_refused() {
        let t = tokens();
        let n = now();
        for missing in ["exp", "iat", "sub", "typ", "sid", "jti", "iss", "aud"] {
            let mut c = claims("access", n, n + 300);
            c.as_object_mut().unwrap().remove(missing);
            assert_eq!(
                t.verify(&forge(header(&t), c, SECRET), TokenType::Access),
                Err(TokenError::Invalid),
                "{missing}"
            );
        }
    }

    #[test]
    fn a_wrong_issuer_or_audience_is_refused() {
        let t = tokens();
        let n = now();
        for (claim, value) in [("iss", "someone-else"), ("aud", "another-service")] {
            let mut c = claims("access", n, n + 300);
            c[claim] = value.into();
            assert_eq!(t.verify(&forge(header(&t), c, SECRET), TokenType::Access), Err(TokenError::Invalid), "{claim}");
        }
    }

    #[test]
    fn reloaded_keys_take_over_signing_and_verifying() {
        let t = tokens();
        let before = t.issue(TokenType::Access, "u1", "s1", "j1", Some("ada"), now()).unwrap();
        t.replace_ring(KeyRing::single(Key::from_secret(b"a-new-key-a-new-key-a-new-key-xx")));
        let after = t.issue(TokenType::Access, "u1", "s1", "j2", Some("ada"), now()).unwrap();
        assert_ne!(parts(&before).0["kid"], parts(&after).0["kid"]);
        assert!(t.verify(&after, TokenType::Access).is_ok());
        assert_eq!(t.verify(&before, TokenType::Access), Err(TokenError::Invalid), "its key left the ring");
    }

    #[test]
    fn a_header_naming_critical_extensions_is_refused() {
        let t = tokens();
        let n = now();
        let mut h = header(&t);
        h["crit"] = serde_json::json!(["b64"]);
        assert_eq!(
            t.verify(&forge(h, claims("access", n, n + 300), SECRET), TokenType::Access),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn a_token_is_good_through_its_last_second_and_not_after() {
        let t = tokens();
        let n = now();
        let token = forge(header(&t), claims("access", n - 300, n + 10), SECRET);
        assert!(t.check(&token, TokenType::Access, n + 10).is_some());
        assert!(t.check(&token, TokenType::Access, n + 11).is_none());
    }

    #[test]
    fn eddsa_keys_sign_tokens_anyone_can_verify_with_the_public_key() {
        use jsonwebtoken::Validation;
        let key = Key::new(b"an ed25519 seed source", crate::server::session::keys::Signing::EdDsa);
        let x = key.public_x.clone().unwrap();
        let kid = key.kid.clone();
        let t = Tokens::new(KeyRing::single(key), 300, 604_800);
        let token = t.issue(TokenType::Access, "u1", "s1", "j1", Some("ada"), now()).unwrap();
        assert_eq!(parts(&token).0["alg"], "EdDSA");
        assert!(t.verify(&token, TokenType::Access).is_ok());
        // Another service, holding only the published key:
        let mut v = Validation::new(Algorithm::EdDSA);
        v.set_audience(&["latch"]);
        let outside =
            jsonwebtoken::decode::<Claims>(&token, &jsonwebtoken::DecodingKey::from_ed_components(&x).unwrap(), &v);
        assert_eq!(outside.unwrap().claims.sub, "u1");
        assert_eq!(t.jwks()["keys"][0]["kid"], kid);
    }

    #[test]
    fn an_hs256_token_keyed_with_the_public_key_is_refused_by_an_eddsa_ring() {
        // The classic confusion: the attacker uses the published public key as an HMAC
        // secret and claims HS256.
        let key = Key::new(b"an ed25519 seed source", crate::server::session::keys::Signing::EdDsa);
        let public = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(key.public_x.clone().unwrap()).unwrap();
        let kid = key.kid.clone();
        let t = Tokens::new(KeyRing::single(key), 300, 604_800);
        let n = now();
        let forged = forge(serde_json::json!({"alg": "HS256", "kid": kid}), claims("access", n, n + 300), &public);
        assert_eq!(t.verify(&forged, TokenType::Access), Err(TokenError::Invalid));
    }

    #[test]
    fn hs256_publishes_no_keys() {
        assert_eq!(tokens().jwks(), serde_json::json!({"keys": []}));
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        let t = tokens();
        for junk in ["", ".", "..", "a.b.c", "ü.ö.ä", &"x".repeat(100_000)] {
            assert_eq!(t.verify(junk, TokenType::Access), Err(TokenError::Invalid));
        }
    }
}
