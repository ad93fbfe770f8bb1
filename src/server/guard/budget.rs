//! One failure budget per account for every secret it holds. Passwords, TOTP codes and
//! recovery codes, at sign-in and when confirming a change, are counted against the
//! account and the client address alike, with the same doubling waits, and only a
//! completed sign-in (every factor) clears them. A browser holding the account's device
//! cookie is counted on its own instead (`device`): a stranger spending the account's
//! budget cannot lock its owner out at any step.
//!
//! Each attempt is paid for before its secret is checked (`spend`) and paid back when
//! the secret was right (`refund`), so guesses sent all at once each pay.

use super::{device, throttle::Scope};
use crate::{
    error::AppError,
    server::{account::domain::Username, request::Request},
};

pub struct Budget {
    scopes: Vec<(Scope, String)>,
    user_id: Option<String>,
}

impl Budget {
    /// The budget of the account named `username` (id `user_id` when it exists; a name
    /// that does not is counted all the same, so the throttle tells nothing about who
    /// exists), as this request's client spends it.
    pub fn of(request: &Request, user_id: Option<&str>, username: &str) -> Budget {
        let scopes = match user_id.and_then(|id| device::trusted_for(request, id)) {
            Some(device) => vec![(Scope::Device, device)],
            None => vec![(Scope::Address, request.address()), (Scope::Account, Username::throttle_key(username))],
        };
        Budget { scopes, user_id: user_id.map(str::to_string) }
    }

    /// Pays for one attempt, or refuses it (`429`, with `Retry-After`) while the budget
    /// is spent; a refused attempt costs nothing and checks no secret.
    pub async fn spend(&self, request: &Request) -> Result<(), AppError> {
        let (db, throttle) = (&request.state.db, &request.state.throttle);
        for (paid, (scope, key)) in self.scopes.iter().enumerate() {
            if let Err(blocked) = throttle.attempt(db, *scope, key).await {
                for (scope, key) in &self.scopes[..paid] {
                    throttle.forgive(db, *scope, key).await?;
                }
                return Err(request.refused(blocked, self.user_id.as_deref()).await);
            }
        }
        Ok(())
    }

    /// The secret was right: the attempt is paid back. Earlier failures stand.
    pub async fn refund(&self, request: &Request) -> Result<(), AppError> {
        for (scope, key) in &self.scopes {
            request.state.throttle.forgive(&request.state.db, *scope, key).await?;
        }
        Ok(())
    }

    /// A completed sign-in: the account's (or this device's) failures are forgiven.
    /// The address's stand: it may be guessing at other accounts.
    pub async fn settle(&self, request: &Request) -> Result<(), AppError> {
        let (db, throttle) = (&request.state.db, &request.state.throttle);
        for (scope, key) in &self.scopes {
            match scope {
                Scope::Address => throttle.forgive(db, *scope, key).await?,
                _ => throttle.clear(db, *scope, key).await?,
            }
        }
        Ok(())
    }
}
