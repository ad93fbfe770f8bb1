//! The signing key: built once at start-up and shared by every request.
//!
//! With `JWT_SECRET` set, every instance derives the same key and `kid` from it. Without
//! it, the first instance to start on a database generates 256 bits from the OS RNG and
//! stores them; every later start, and every other instance on that database, reads
//! the same row, so restarts and load-balanced peers keep everyone signed in.

use super::db::{now, Db};
use jsonwebtoken::{DecodingKey, EncodingKey};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::fmt;

pub struct Keys {
    /// Names the key in every token's header, so a later key rotation can tell tokens apart.
    pub kid: String,
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
}

/// Only the `kid` is printable.
impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl Keys {
    pub fn from_secret(secret: &[u8]) -> Self {
        // The kid is a one-way digest: it tells keys apart without revealing them.
        let digest = Sha256::digest([b"latch kid:".as_slice(), secret].concat());
        Keys {
            kid: hex::encode(&digest[..8]),
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    /// The configured secret, or the one stored in the database (created on first use).
    pub async fn load(configured: Option<&SecretString>, db: &Db) -> Result<Self, sqlx::Error> {
        if let Some(secret) = configured {
            return Ok(Self::from_secret(secret.expose_secret().as_bytes()));
        }
        let secret = stored_secret(db).await?;
        Ok(Self::from_secret(secret.expose_secret()))
    }
}

async fn stored_secret(db: &Db) -> Result<SecretBox<Vec<u8>>, sqlx::Error> {
    let mut fresh = vec![0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut fresh);
    let fresh = SecretBox::new(Box::new(fresh));
    let kid = hex::encode(&Sha256::digest(fresh.expose_secret())[..8]);
    // Racing first starts: the primary key lets exactly one insert win; all read it back.
    sqlx::query(
        "INSERT INTO jwt_keys (slot, kid, secret, created_at) VALUES ('signing', $1, $2, $3) \
         ON CONFLICT (slot) DO NOTHING",
    )
    .bind(kid)
    .bind(hex::encode(fresh.expose_secret()))
    .bind(now())
    .execute(db)
    .await?;
    let row = sqlx::query("SELECT secret FROM jwt_keys WHERE slot = 'signing'").fetch_one(db).await?;
    let stored: String = row.try_get("secret")?;
    let bytes = hex::decode(stored.trim())
        .map_err(|e| sqlx::Error::Decode(format!("jwt_keys.secret is not hex: {e}").into()))?;
    Ok(SecretBox::new(Box::new(bytes)))
}
