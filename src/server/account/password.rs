//! Password hashing: argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane), stored
//! as PHC strings.
//!
//! A hash is tens of milliseconds of CPU and 19 MiB of memory, so it never runs on the
//! async executor. It runs on a small pool of dedicated threads, one fewer than the
//! cores (at least one): a burst of logins queues here while the other core keeps
//! serving signed-in readers. Each thread allocates its 19 MiB once and reuses it;
//! allocating it per hash made glibc's heap grow to hundreds of megabytes under load.

use super::domain::Password;
use argon2::{
    password_hash::{rand_core::OsRng, Output, PasswordHash, SaltString},
    Algorithm, Argon2, Block, Params, Version,
};
use secrecy::{ExposeSecret, SecretString};
use std::sync::{mpsc, Arc, Mutex};
use tokio::sync::oneshot;

#[derive(Debug)]
pub struct HashError;

type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

pub struct Hasher {
    jobs: Mutex<mpsc::Sender<Job>>,
    /// Verified against when the user does not exist, so that an unknown name costs
    /// exactly what a wrong password does.
    dummy_hash: String,
}

fn params() -> Params {
    Params::new(19 * 1024, 2, 1, Some(32)).unwrap_or_default()
}

fn argon2(params: Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes into `out` using (and, if needed, growing) the thread's reusable memory.
fn compute(
    password: &[u8],
    salt: &[u8],
    params: Params,
    out: &mut [u8],
    memory: &mut Vec<Block>,
) -> Result<(), HashError> {
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::default());
    }
    argon2(params).hash_password_into_with_memory(password, salt, out, &mut memory[..]).map_err(|_| HashError)
}

fn hash_phc(password: &[u8], memory: &mut Vec<Block>) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let raw_salt = salt.decode_b64(&mut salt_bytes).map_err(|_| HashError)?;
    let mut out = [0u8; 32];
    compute(password, raw_salt, params(), &mut out, memory)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: params().try_into().map_err(|_| HashError)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|_| HashError)?),
    };
    Ok(phc.to_string())
}

/// Recomputes with the parameters and salt stored in `phc`; compares in constant time.
fn verify_phc(password: &[u8], phc: &str, memory: &mut Vec<Block>) -> Result<bool, HashError> {
    let parsed = PasswordHash::new(phc).map_err(|_| HashError)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return Err(HashError) };
    let params = Params::try_from(&parsed).map_err(|_| HashError)?;
    let mut salt_bytes = [0u8; 64];
    let raw_salt = salt.decode_b64(&mut salt_bytes).map_err(|_| HashError)?;
    let mut out = vec![0u8; expected.len()];
    compute(password, raw_salt, params, &mut out, memory)?;
    Ok(Output::new(&out).map_err(|_| HashError)? == expected)
}

impl Hasher {
    pub fn new() -> Result<Self, HashError> {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..cores.saturating_sub(1).max(1) {
            let receiver = receiver.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    let mut memory = Vec::new();
                    loop {
                        // The lock is held only to take the next job, never while hashing.
                        let job = match receiver.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(&mut memory),
                            Err(_) => return, // the Hasher is gone
                        }
                    }
                })
                .map_err(|_| HashError)?;
        }
        let dummy_hash = hash_phc(b"latch: a password no one has", &mut Vec::new())?;
        Ok(Hasher { jobs: Mutex::new(sender), dummy_hash })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let _ = reply.send(work(memory));
        });
        self.jobs.lock().map_err(|_| HashError)?.send(job).map_err(|_| HashError)?;
        answer.await.map_err(|_| HashError)
    }

    /// The PHC string of `password`, with a fresh salt.
    pub async fn hash(&self, password: Password) -> Result<String, HashError> {
        let secret = SecretString::from(password.expose().to_string());
        self.run(move |memory| hash_phc(secret.expose_secret().as_bytes(), memory)).await?
    }

    /// Whether `password` matches `stored` (a PHC string); `None` verifies against the
    /// dummy hash and answers false, at the same cost.
    pub async fn verify(&self, password: &str, stored: Option<String>) -> Result<bool, HashError> {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| self.dummy_hash.clone());
        let secret = SecretString::from(password.to_string());
        let matches = self.run(move |memory| verify_phc(secret.expose_secret().as_bytes(), &stored, memory)).await??;
        Ok(known && matches)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::{PasswordHasher as _, PasswordVerifier as _};

    #[tokio::test]
    async fn a_hash_verifies_its_password_and_no_other() {
        let hasher = Hasher::new().unwrap();
        let hash = hasher.hash(Password::parse("correct horse".into()).unwrap()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(hasher.verify("correct horse", Some(hash.clone())).await.unwrap());
        assert!(!hasher.verify("correct horsf", Some(hash)).await.unwrap());
    }

    #[tokio::test]
    async fn hashes_are_standard_phc_strings_both_ways() {
        let hasher = Hasher::new().unwrap();
        // Ours verifies with the argon2 crate's own verifier...
        let ours = hasher.hash(Password::parse("interoperable".into()).unwrap()).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"interoperable", &parsed).is_ok());
        // ...and a hash made elsewhere, with other parameters, verifies with ours.
        let salt = SaltString::generate(&mut OsRng);
        let theirs = argon2(Params::new(8 * 1024, 3, 1, None).unwrap())
            .hash_password(b"made elsewhere", &salt)
            .unwrap()
            .to_string();
        assert!(hasher.verify("made elsewhere", Some(theirs.clone())).await.unwrap());
        assert!(!hasher.verify("made elsewherf", Some(theirs)).await.unwrap());
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

    #[tokio::test]
    async fn a_malformed_stored_hash_is_an_error_not_a_match() {
        let hasher = Hasher::new().unwrap();
        assert!(hasher.verify("anything", Some("not a phc string".into())).await.is_err());
    }
}
