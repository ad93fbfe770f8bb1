//! What the server functions do: register, log in, log out. Each reads the request
//! from Leptos' context (the axum request parts and the app state), so the functions in
//! `api.rs` stay one line each.

use super::{
    domain::{Password, Username},
    users,
};
use crate::server::{
    audit::{self, Event},
    db::now,
    guard::throttle::Scope,
    session::{
        cookies::TokenPair,
        middleware::Identity,
        sessions::{self, ClientInfo},
        tokens::TokenType,
    },
    AppState,
};
use crate::{
    error::{AppError, ErrorCode},
    shared::{AuditEntry, SessionInfo, User},
};
use axum::http::request::Parts;
use leptos::prelude::use_context;
use tower_cookies::Cookies;

/// The request a server function is answering.
struct Request {
    state: AppState,
    parts: Parts,
    jar: Cookies,
    /// Read once: the session row, the throttle and the audit log all name the client.
    client: ClientInfo,
}

impl Request {
    fn current() -> Result<Self, AppError> {
        let (Some(state), Some(parts)) = (use_context::<AppState>(), use_context::<Parts>()) else {
            tracing::error!("server function called without AppState or request parts in context");
            return Err(AppError::internal());
        };
        let Some(jar) = parts.extensions.get::<Cookies>().cloned() else {
            tracing::error!("server function called outside CookieManagerLayer");
            return Err(AppError::internal());
        };
        let client = ClientInfo::of(&parts.headers, &parts.extensions);
        Ok(Request { state, parts, jar, client })
    }

    fn identity(&self) -> Option<&Identity> {
        self.parts.extensions.get::<Identity>()
    }

    /// The peer's address: what throttling counts per client.
    fn address(&self) -> String {
        self.client.ip.clone().unwrap_or_else(|| "unknown".to_string())
    }

    /// Opens a fresh session for `user` and sets its cookies, replacing any the browser
    /// had (no session fixation). A session the caller was already in is ended.
    async fn sign_in(&self, user: &User) -> Result<String, AppError> {
        if let Some(previous) = self.identity() {
            sessions::revoke(&self.state.db, &previous.sid).await?;
        }
        let jti = uuid::Uuid::new_v4().to_string();
        let sid =
            sessions::create(&self.state.db, &user.id, &jti, self.state.tokens.refresh_lifetime, &self.client).await?;
        let pair = issue_pair(&self.state, user, &sid, &jti)?;
        self.state.cookies.set(&self.jar, pair);
        Ok(sid)
    }

    /// Records a refusal by the throttle and hands the error back.
    async fn audit_throttled(&self, error: AppError, user_id: Option<&str>) -> AppError {
        if error.code == ErrorCode::Throttled {
            self.audit(Event::Throttled, user_id, None).await;
        }
        error
    }

    async fn audit(&self, event: Event, user_id: Option<&str>, session_id: Option<&str>) {
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

pub async fn register(username: String, password: String) -> Result<User, AppError> {
    let request = Request::current()?;
    let (db, throttle) = (&request.state.db, &request.state.throttle);
    let username = Username::parse(&username)?;
    let password = Password::parse(password)?;
    let address = request.address();
    if let Err(error) = throttle.check(db, Scope::Registration, &address).await {
        return Err(request.audit_throttled(error, None).await);
    }
    let hash = request.state.hasher.hash(password).await.map_err(|_| AppError::internal())?;
    let user = users::create(db, &username, &hash).await?;
    throttle.record(db, Scope::Registration, &address).await?;
    let sid = request.sign_in(&user).await?;
    request.audit(Event::Registered, Some(&user.id), Some(&sid)).await;
    tracing::info!(user = %user.id, "registered");
    Ok(user)
}

pub async fn login(username: String, password: String) -> Result<User, AppError> {
    let request = Request::current()?;
    let (db, throttle) = (&request.state.db, &request.state.throttle);
    if password.chars().count() > 1024 {
        // Refused before hashing: a megabyte password is a denial of service, not a login.
        return Err(AppError::invalid("password", "password: at most 1024 characters"));
    }
    let address = request.address();
    if let Err(error) = throttle.check(db, Scope::Address, &address).await {
        throttle.record(db, Scope::Address, &address).await?;
        return Err(request.audit_throttled(error, None).await);
    }
    // A name that breaks the rules cannot exist: it fails like an unknown user, at the
    // same cost, and is counted under its plain lower-case form.
    let parsed = Username::parse(&username);
    let account = parsed.as_ref().map(Username::key).unwrap_or_else(|_| username.trim().to_lowercase());
    let stored = match &parsed {
        Ok(name) => users::find_by_name(db, name).await?.filter(|s| !s.disabled),
        Err(_) => None,
    };
    // The owner's usual client is never locked out by failures made elsewhere.
    let usual_client = match &stored {
        Some(s) => sessions::has_used_address(db, &s.user.id, &address).await?,
        None => false,
    };
    if !usual_client {
        if let Err(error) = throttle.check(db, Scope::Account, &account).await {
            // Hammering on while throttled keeps the wait growing.
            throttle.record(db, Scope::Account, &account).await?;
            return Err(request.audit_throttled(error, stored.as_ref().map(|s| s.user.id.as_str())).await);
        }
    }
    let known_id = stored.as_ref().map(|s| s.user.id.clone());
    let (user, hash) = match stored {
        Some(s) => (Some(s.user), Some(s.password_hash)),
        None => (None, None),
    };
    let matches = request.state.hasher.verify(&password, hash).await.map_err(|_| AppError::internal())?;
    let Some(user) = user.filter(|_| matches) else {
        throttle.record(db, Scope::Account, &account).await?;
        throttle.record(db, Scope::Address, &address).await?;
        request.audit(Event::LoginFailed, known_id.as_deref(), None).await;
        tracing::info!("login failed");
        return Err(AppError::invalid_credentials());
    };
    if !usual_client {
        throttle.clear(db, Scope::Account, &account).await?;
    }
    let sid = request.sign_in(&user).await?;
    request.audit(Event::LoginSucceeded, Some(&user.id), Some(&sid)).await;
    tracing::info!(user = %user.id, "logged in");
    Ok(user)
}

/// Never fails for an anonymous caller: the cookies are cleared either way.
pub async fn logout() -> Result<(), AppError> {
    let request = Request::current()?;
    request.state.cookies.clear(&request.jar);
    if let Some(identity) = request.identity() {
        sessions::revoke(&request.state.db, &identity.sid).await?;
        request.audit(Event::LoggedOut, Some(&identity.user.id), Some(&identity.sid)).await;
        tracing::info!(user = %identity.user.id, "logged out");
    }
    Ok(())
}

/// The guard every protected server function starts with: server functions are public
/// URLs, so each checks who calls it. `401` for an anonymous caller.
fn require_user(request: &Request) -> Result<&Identity, AppError> {
    request.identity().ok_or_else(AppError::unauthorized)
}

/// The caller's live sessions: where else they are signed in.
pub async fn list_sessions() -> Result<Vec<SessionInfo>, AppError> {
    let request = Request::current()?;
    let identity = require_user(&request)?;
    sessions::list_live(&request.state.db, &identity.user.id, &identity.sid).await
}

/// Changes the caller's password after checking the current one, and signs out every
/// other session (a stolen session dies with the old password). Returns how many.
pub async fn change_password(current_password: String, new_password: String) -> Result<u64, AppError> {
    let request = Request::current()?;
    let identity = require_user(&request)?;
    let db = &request.state.db;
    let new_password = Password::parse(new_password).map_err(|e| AppError {
        field: Some("new_password".into()),
        message: e.message.replacen("password", "new_password", 1),
        ..e
    })?;
    let not_yours = || AppError::invalid("current_password", "current_password: that is not your password");
    if current_password.chars().count() > 1024 {
        return Err(not_yours());
    }
    let stored = users::password_hash(db, &identity.user.id).await?;
    if stored.is_none() {
        return Err(AppError::unauthorized());
    }
    let hasher = &request.state.hasher;
    if !hasher.verify(&current_password, stored).await.map_err(|_| AppError::internal())? {
        return Err(not_yours());
    }
    let hash = hasher.hash(new_password).await.map_err(|_| AppError::internal())?;
    users::set_password_hash(db, &identity.user.id, &hash).await?;
    let others = sessions::revoke_others(db, &identity.user.id, &identity.sid).await?;
    request.audit(Event::PasswordChanged, Some(&identity.user.id), Some(&identity.sid)).await;
    tracing::info!(user = %identity.user.id, others, "password changed; other sessions revoked");
    Ok(others)
}

/// The caller's own recent authentication events.
pub async fn recent_events() -> Result<Vec<AuditEntry>, AppError> {
    let request = Request::current()?;
    let identity = require_user(&request)?;
    audit::recent(&request.state.db, &identity.user.id, 20).await
}

/// The user of this request, as the middleware found it: no database read.
pub fn current_user() -> Option<User> {
    use_context::<Parts>().and_then(|parts| parts.extensions.get::<Identity>().map(|i| i.user.clone()))
}
