//! The request a server function is answering: the app state, the axum request parts,
//! the cookie jar and the client, read once from Leptos' context. Everything a server
//! function body shares lives here: who is calling, signing a user in, confirming a
//! password, writing the audit log.

use super::{
    account::{domain::Username, users},
    audit::{self, Event},
    db::now,
    guard::throttle::Scope,
    session::{
        cookies::TokenPair,
        middleware::Identity,
        sessions::{self, ClientInfo, Method},
        tokens::TokenType,
    },
    AppState,
};
use crate::{
    error::{AppError, ErrorCode},
    shared::User,
};
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

    /// Checks the signed-in caller's password before a change to the account. Wrong
    /// guesses count like failed sign-ins of that account (and are audited), so a
    /// borrowed session cannot be used to guess the password without limit; the check
    /// is per session, so an attacker failing sign-ins elsewhere cannot lock the owner
    /// out of their own profile. `wrong` is the error a wrong password gets.
    pub async fn confirm_password(
        &self,
        identity: &Identity,
        password: &str,
        wrong: impl Fn() -> AppError,
    ) -> Result<(), AppError> {
        let (db, throttle) = (&self.state.db, &self.state.throttle);
        if password.chars().count() > 1024 {
            return Err(wrong());
        }
        let account = Username::throttle_key(&identity.user.username);
        if let Err(error) = throttle.check(db, Scope::Session, &identity.sid).await {
            throttle.record(db, Scope::Session, &identity.sid).await?;
            return Err(self.audit_throttled(error, Some(&identity.user.id)).await);
        }
        let stored = users::password_hash(db, &identity.user.id).await?;
        if stored.is_none() {
            return Err(AppError::unauthorized()); // disabled or deleted meanwhile
        }
        if !self.state.hasher.verify(password, stored).await.map_err(|_| AppError::internal())? {
            throttle.record(db, Scope::Session, &identity.sid).await?;
            throttle.record(db, Scope::Account, &account).await?;
            self.audit(Event::PasswordCheckFailed, Some(&identity.user.id), Some(&identity.sid)).await;
            return Err(wrong());
        }
        Ok(())
    }

    /// Records a refusal by the throttle and hands the error back.
    pub async fn audit_throttled(&self, error: AppError, user_id: Option<&str>) -> AppError {
        if error.code == ErrorCode::Throttled {
            self.audit(Event::Throttled, user_id, None).await;
        }
        error
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
