//! The request a server function is answering: the app state, the axum request parts,
//! the cookie jar and the client, read once from Leptos' context. Everything a server
//! function body shares lives here: who is calling, signing a user in, confirming a
//! password, refusing what the throttle refuses, writing the audit log.

use super::{
    account::users,
    audit::{self, Event},
    db::now,
    guard::{budget::Budget, throttle::Blocked},
    session::{
        cookies::TokenPair,
        middleware::Identity,
        sessions::{self, ClientInfo, Method},
        tokens::TokenType,
    },
    AppState,
};
use crate::{error::AppError, shared::User};
use axum::http::request::Parts;
use leptos::prelude::use_context;
use tower_cookies::Cookies;

pub struct Request {
    pub state: AppState,
    pub parts: Parts,
    pub jar: Cookies,
    /// Read once: the session row, the throttle and the audit log all name the client.
    pub client: ClientInfo,
}

impl Request {
    pub fn current() -> Result<Self, AppError> {
        let (Some(state), Some(parts)) = (use_context::<AppState>(), use_context::<Parts>()) else {
            tracing::error!("server function called without AppState or request parts in context");
            return Err(AppError::internal());
        };
        let Some(jar) = parts.extensions.get::<Cookies>().cloned() else {
            tracing::error!("server function called outside CookieManagerLayer");
            return Err(AppError::internal());
        };
        let client = ClientInfo::of(&parts.headers, &parts.extensions, &state.proxies);
        Ok(Request { state, parts, jar, client })
    }

    pub fn identity(&self) -> Option<&Identity> {
        self.parts.extensions.get::<Identity>()
    }

    /// The guard every protected server function starts with: server functions are
    /// public URLs, so each checks who calls it. `401` for an anonymous caller.
    pub fn require_user(&self) -> Result<&Identity, AppError> {
        self.identity().ok_or_else(AppError::unauthorized)
    }

    /// What throttling counts per client: the peer's address (an IPv6 one by its /64).
    pub fn address(&self) -> String {
        self.client.ip.as_deref().map(crate::server::guard::throttle::client_key).unwrap_or_else(|| "unknown".into())
    }

    /// Opens a fresh session for `user` and sets its cookies, replacing any the browser
    /// had (no session fixation). A session the caller was already in is ended.
    pub async fn sign_in(&self, user: &User, method: Method) -> Result<String, AppError> {
        if let Some(previous) = self.identity() {
            sessions::revoke(&self.state.db, &previous.sid).await?;
        }
        let jti = uuid::Uuid::new_v4().to_string();
        let lifetime = self.state.tokens.refresh_lifetime;
        let sid = sessions::create(&self.state.db, &user.id, &jti, lifetime, &self.client, method).await?;
        let pair = issue_pair(&self.state, user, &sid, &jti)?;
        self.state.cookies.set(&self.jar, pair);
        crate::server::guard::device::remember(self, &user.id);
        Ok(sid)
    }

    /// Checks the signed-in caller's password before a change to the account. Each try
    /// spends the account's failure budget, as at sign-in (`guard::budget`), and a wrong
    /// one is audited: a borrowed session cannot be used to guess the password without
    /// limit. `wrong` is the error a wrong password gets; an empty one is refused
    /// without counting (nothing was tried).
    pub async fn confirm_password(
        &self,
        identity: &Identity,
        password: &str,
        wrong: impl Fn() -> AppError,
    ) -> Result<(), AppError> {
        if password.is_empty() || password.chars().count() > 1024 {
            return Err(wrong());
        }
        let budget = Budget::of(self, Some(&identity.user.id), &identity.user.username);
        budget.spend(self).await?;
        let stored = users::password_hash(&self.state.db, &identity.user.id).await?;
        if stored.is_none() {
            return Err(AppError::unauthorized()); // disabled or deleted meanwhile
        }
        if !self.state.hasher.verify(password, stored).await.map_err(|_| AppError::internal())? {
            self.audit(Event::PasswordCheckFailed, Some(&identity.user.id), Some(&identity.sid)).await;
            return Err(wrong());
        }
        budget.refund(self).await
    }

    /// What a throttle refusal becomes: a `429`, audited once per window and key (with
    /// a count), never a row per refused request.
    pub async fn refused(&self, blocked: Blocked, user_id: Option<&str>) -> AppError {
        if let Blocked::Throttled(throttled) = &blocked {
            audit::record_refusal(&self.state.db, throttled, user_id, &self.client).await;
        }
        blocked.into()
    }

    pub async fn audit(&self, event: Event, user_id: Option<&str>, session_id: Option<&str>) {
        audit::record(&self.state.db, event, user_id, session_id, &self.client).await;
    }
}

/// Signs an access token and a refresh token (with id `refresh_jti`) for a session.
pub fn issue_pair(state: &AppState, user: &User, sid: &str, refresh_jti: &str) -> Result<TokenPair, AppError> {
    let now = now();
    let tokens = &state.tokens;
    let signed = tokens
        .issue(TokenType::Access, &user.id, sid, &uuid::Uuid::new_v4().to_string(), Some(&user.username), now)
        .and_then(|access| {
            let refresh = tokens.issue(TokenType::Refresh, &user.id, sid, refresh_jti, None, now)?;
            Ok(TokenPair { access, refresh })
        });
    signed.map_err(|_| {
        tracing::error!("signing a token failed");
        AppError::internal()
    })
}
