//! The signing keys: one signs, every key still in force verifies, each named by its
//! `kid` in the tokens' header.
//!
//! With `JWT_SECRET` set, every instance derives the same single key and `kid` from it.
//! Without it, the first instance to start on a database generates 256 bits from the
//! OS RNG and stores them; every other instance reads the same row. `latch keys rotate`
//! adds a key that starts signing only after `KEY_PROPAGATION` seconds: every instance
//! reloads the keys twice in that time, so none meets a token signed by a key it does
//! not know. The old key keeps verifying until the longest-lived token it signed has
//! expired, so a rotation signs nobody out.
//!
//! Keys sign with HS256 (a shared secret: only Latch can verify) or, with
//! `JWT_ALGORITHM=EdDSA`, with Ed25519, whose public halves are served at
//! `/.well-known/jwks.json` so other services can verify Latch's access tokens. Either
//! way the stored material is 32 random bytes: the HMAC secret, or the Ed25519 seed.

use crate::server::db::{now, Db};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::{fmt, sync::Arc};

pub struct Key {
    pub kid: String,
    pub algorithm: Algorithm,
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
    /// The Ed25519 public key (JWK `x`, base64url); `None` for a shared HS256 secret.
    pub public_x: Option<String>,
}

/// How this deployment signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signing {
    Hs256,
    EdDsa,
}

/// RFC 8410's PKCS#8 wrapping of an Ed25519 seed: a fixed prefix, then the 32 bytes.
const ED25519_PKCS8_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

/// Only the `kid` is printable.
impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl Key {
    /// A key whose `kid` is a one-way digest of it: it tells keys apart without
    /// revealing them.
    pub fn from_secret(secret: &[u8]) -> Self {
        Self::new(secret, Signing::Hs256)
    }

    pub fn new(secret: &[u8], signing: Signing) -> Self {
        match signing {
            Signing::Hs256 => {
                let digest = Sha256::digest([b"latch kid:".as_slice(), secret].concat());
                Key {
                    kid: hex::encode(&digest[..8]),
                    algorithm: Algorithm::HS256,
                    encoding: EncodingKey::from_secret(secret),
                    decoding: DecodingKey::from_secret(secret),
                    public_x: None,
                }
            }
            Signing::EdDsa => {
                // A configured secret of any length becomes a 32-byte seed.
                let seed: [u8; 32] = Sha256::digest([b"latch ed25519 seed:".as_slice(), secret].concat()).into();
                let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key().to_bytes();
                let kid = hex::encode(&Sha256::digest([b"latch ed25519 kid:".as_slice(), &public].concat())[..8]);
                Key {
                    kid,
                    algorithm: Algorithm::EdDSA,
                    encoding: EncodingKey::from_ed_der(&[ED25519_PKCS8_PREFIX.as_slice(), &seed].concat()),
                    decoding: DecodingKey::from_ed_der(&public),
                    public_x: Some(URL_SAFE_NO_PAD.encode(public)),
                }
            }
        }
    }
}

/// The keys in force at one moment.
#[derive(Debug)]
pub struct KeyRing {
    signing: Arc<Key>,
    verifying: Vec<Arc<Key>>,
}

/// A key as stored: when it starts signing.
struct Stored {
    key: Arc<Key>,
    activates_at: i64,
}

impl KeyRing {
    pub fn single(key: Key) -> Self {
        let key = Arc::new(key);
        KeyRing { signing: key.clone(), verifying: vec![key] }
    }

    pub fn signing(&self) -> &Key {
        &self.signing
    }

    pub fn find(&self, kid: &str) -> Option<&Key> {
        self.verifying.iter().find(|k| k.kid == kid).map(|k| &**k)
    }

    /// The public keys, as a JWK Set (RFC 7517): empty for HS256, whose keys are secret.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self
            .verifying
            .iter()
            .filter_map(|k| {
                let x = k.public_x.as_ref()?;
                Some(serde_json::json!({
                    "kty": "OKP", "crv": "Ed25519", "x": x, "kid": k.kid, "alg": "EdDSA", "use": "sig"
                }))
            })
            .collect();
        serde_json::json!({ "keys": keys })
    }

    /// The newest key already active signs; pending keys verify (another instance may
    /// be a moment ahead); a superseded key verifies for `keep` seconds after its
    /// successor took over.
    fn from_stored(mut keys: Vec<Stored>, now: i64, keep: i64) -> Option<Self> {
        keys.sort_by_key(|k| k.activates_at);
        let signing_at = keys.iter().rposition(|k| k.activates_at <= now).unwrap_or(0);
        let signing = keys.get(signing_at)?.key.clone();
        let verifying = keys
            .iter()
            .enumerate()
            .filter(|(i, _)| *i >= signing_at || keys[i + 1].activates_at > now - keep)
            .map(|(_, k)| k.key.clone())
            .collect();
        Some(KeyRing { signing, verifying })
    }
}

/// The configured key, or the stored ones (the first created on first use).
pub async fn load(
    configured: Option<&SecretString>,
    signing: Signing,
    db: &Db,
    keep: i64,
) -> Result<KeyRing, sqlx::Error> {
    if let Some(secret) = configured {
        return Ok(KeyRing::single(Key::new(secret.expose_secret().as_bytes(), signing)));
    }
    // Racing first starts: the primary key lets exactly one insert win; all read it back.
    insert(db, "signing", 0).await?;
    reload(signing, db, keep).await
}

/// The stored keys as they stand now: what a running instance re-reads, with no write.
pub async fn reload(signing: Signing, db: &Db, keep: i64) -> Result<KeyRing, sqlx::Error> {
    let stored = stored_keys(db, signing).await?;
    KeyRing::from_stored(stored, now(), keep).ok_or_else(|| sqlx::Error::Protocol("jwt_keys is empty".into()))
}

/// Adds a key that signs from `now + propagation`, and forgets keys no token can carry
/// any more. Returns the new kid and when it starts signing.
/// The stored keys, for `latch keys list`: (kid, created at, starts signing at).
pub async fn list(db: &Db) -> Result<Vec<(String, i64, i64)>, sqlx::Error> {
    let rows =
        sqlx::query("SELECT kid, created_at, activates_at FROM jwt_keys ORDER BY activates_at").fetch_all(db).await?;
    rows.iter().map(|r| Ok((r.try_get("kid")?, r.try_get("created_at")?, r.try_get("activates_at")?))).collect()
}

pub async fn rotate(db: &Db, propagation: i64, keep: i64) -> Result<(String, i64), sqlx::Error> {
    let activates_at = now() + propagation;
    let kid = insert(db, &uuid::Uuid::new_v4().to_string(), activates_at).await?;
    // Forget what the ring no longer verifies: no live token can carry it. (The kid
    // column holds the HS256 kid of each secret; which keys are live depends only on
    // their activation times, so HS256 kids serve to match rows whatever the algorithm.)
    let stored = stored_keys(db, Signing::Hs256).await?;
    let kids: Vec<String> = stored.iter().map(|k| k.key.kid.clone()).collect();
    if let Some(ring) = KeyRing::from_stored(stored, now(), keep) {
        for dead in kids.iter().filter(|kid| ring.find(kid).is_none()) {
            sqlx::query("DELETE FROM jwt_keys WHERE kid = $1").bind(dead).execute(db).await?;
        }
    }
    Ok((kid, activates_at))
}

/// Inserts a fresh random key in `slot` unless the slot is taken; returns its kid.
async fn insert(db: &Db, slot: &str, activates_at: i64) -> Result<String, sqlx::Error> {
    let mut secret = vec![0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let kid = Key::from_secret(&secret).kid;
    sqlx::query(
        "INSERT INTO jwt_keys (slot, kid, secret, created_at, activates_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (slot) DO NOTHING",
    )
    .bind(slot)
    .bind(&kid)
    .bind(hex::encode(&secret))
    .bind(now())
    .bind(activates_at)
    .execute(db)
    .await?;
    Ok(kid)
}

async fn stored_keys(db: &Db, signing: Signing) -> Result<Vec<Stored>, sqlx::Error> {
    let rows = sqlx::query("SELECT secret, activates_at FROM jwt_keys").fetch_all(db).await?;
    rows.iter()
        .map(|row| {
            let stored: String = row.try_get("secret")?;
            let secret = hex::decode(stored.trim())
                .map_err(|e| sqlx::Error::Decode(format!("jwt_keys.secret is not hex: {e}").into()))?;
            Ok(Stored { key: Arc::new(Key::new(&secret, signing)), activates_at: row.try_get("activates_at")? })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(secret: &[u8; 32], activates_at: i64) -> Stored {
        Stored { key: Arc::new(Key::from_secret(secret)), activates_at }
    }

    #[test]
    fn the_newest_active_key_signs_and_a_pending_one_only_verifies() {
        let (old, new) = (Key::from_secret(&[1; 32]).kid, Key::from_secret(&[2; 32]).kid);
        let ring = KeyRing::from_stored(vec![stored(&[2; 32], 1_000), stored(&[1; 32], 0)], 900, 600).unwrap();
        assert_eq!(ring.signing().kid, old);
        assert!(ring.find(&new).is_some(), "pending keys verify already");

        let ring = KeyRing::from_stored(vec![stored(&[1; 32], 0), stored(&[2; 32], 1_000)], 1_000, 600).unwrap();
        assert_eq!(ring.signing().kid, new, "active from its time");
        assert!(ring.find(&old).is_some(), "the old key verifies what it signed");
    }

    #[test]
    fn a_superseded_key_verifies_until_its_tokens_have_expired() {
        let old = Key::from_secret(&[1; 32]).kid;
        let keys = || vec![stored(&[1; 32], 0), stored(&[2; 32], 1_000)];
        assert!(KeyRing::from_stored(keys(), 1_599, 600).unwrap().find(&old).is_some());
        assert!(KeyRing::from_stored(keys(), 1_601, 600).unwrap().find(&old).is_none());
    }

    #[test]
    fn a_kid_names_its_key_without_revealing_it() {
        let key = Key::from_secret(b"0123456789abcdef0123456789abcdef");
        assert_eq!(key.kid.len(), 16);
        assert!(!format!("{key:?}").contains("0123456789abcdef"));
        assert_eq!(key.kid, Key::from_secret(b"0123456789abcdef0123456789abcdef").kid, "stable");
    }
}
