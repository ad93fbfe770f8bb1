//! Password hashing: argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane), stored
//! as PHC strings. Hashing takes tens of milliseconds of CPU, so it runs on the blocking
//! pool, and a semaphore bounds how many run at once: a burst of logins queues here
//! instead of starving every other request of threads and memory.

use super::domain::Password;
use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString},
    Algorithm, Argon2, Params, Version,
};
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use tokio::sync::Semaphore;

#[derive(Debug)]
pub struct HashError;

pub struct Hasher {
    permits: Arc<Semaphore>,
    /// Verified against when the user does not exist, so that an unknown name costs
    /// exactly what a wrong password does.
    dummy_hash: String,
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

impl Hasher {
    pub fn new() -> Result<Self, HashError> {
        let parallel = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let salt = SaltString::generate(&mut OsRng);
        let dummy_hash = argon2()
            .hash_password(b"latch: a password no one has", &salt)
            .map_err(|_| HashError)?
            .to_string();
        Ok(Hasher { permits: Arc::new(Semaphore::new(parallel)), dummy_hash })
    }

    /// The PHC string of `password`, with a fresh salt.
    pub async fn hash(&self, password: Password) -> Result<String, HashError> {
        let _permit = self.permits.acquire().await.map_err(|_| HashError)?;
        let secret = SecretString::from(password.expose().to_string());
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2()
                .hash_password(secret.expose_secret().as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|_| HashError)
        })
        .await
        .map_err(|_| HashError)?
    }

    /// Whether `password` matches `stored` (a PHC string); `None` verifies against the
    /// dummy hash and answers false, at the same cost.
    pub async fn verify(&self, password: &str, stored: Option<String>) -> Result<bool, HashError> {
        let _permit = self.permits.acquire().await.map_err(|_| HashError)?;
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| self.dummy_hash.clone());
        let secret = SecretString::from(password.to_string());
        let matches = tokio::task::spawn_blocking(move || {
            let parsed = PasswordHash::new(&stored).map_err(|_| HashError)?;
            Ok::<bool, HashError>(argon2().verify_password(secret.expose_secret().as_bytes(), &parsed).is_ok())
        })
        .await
        .map_err(|_| HashError)??;
        Ok(known && matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_no_other() {
        let hasher = Hasher::new().unwrap();
        let hash = hasher.hash(Password::parse("correct horse".into()).unwrap()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(hasher.verify("correct horse", Some(hash.clone())).await.unwrap());
        assert!(!hasher.verify("correct horsf", Some(hash)).await.unwrap());
    }

    #[tokio::test]
    async fn an_unknown_user_never_verifies() {
        let hasher = Hasher::new().unwrap();
        assert!(!hasher.verify("latch: a password no one has", None).await.unwrap());
    }

    #[tokio::test]
    async fn two_hashes_of_one_password_differ_by_salt() {
        let hasher = Hasher::new().unwrap();
        let a = hasher.hash(Password::parse("same password".into()).unwrap()).await.unwrap();
        let b = hasher.hash(Password::parse("same password".into()).unwrap()).await.unwrap();
        assert_ne!(a, b);
    }
}
