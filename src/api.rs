//! The server functions: Latch's API under `/api`, called with `POST` and a form-encoded
//! body by the hydrated app, by plain HTML forms (answered with a `303`), or by any HTTP
//! client. Each body runs on the server only; the work is in `server/auth.rs`.

use crate::{
    error::AppError,
    shared::{AuditEntry, SessionInfo, SignIn, User},
};
use leptos::prelude::*;

/// Creates an account and signs it in: `200` and the user, both cookies set. An
/// `email`, if given, is stored unverified and sent a verification link.
#[server(prefix = "/api", endpoint = "register")]
pub async fn register(username: String, password: String, email: Option<String>) -> Result<User, AppError> {
    use crate::server::{
        account::auth,
        reply::{finish, FormTargets},
    };
    finish(auth::register(username, password, email).await, FormTargets { success: "/profile", failure: "/register" })
}

/// Signs in: `200` and the user, both cookies set; `401` for any wrong name or password.
/// With TOTP on, `200` `{"second_factor": "totp"}` and only the `latch_mfa` cookie: the
/// code goes to `/api/login_totp`. `next` is where a plain form post lands afterwards
/// (same-site paths only), through `/login/totp` when a code is needed.
#[server(prefix = "/api", endpoint = "login")]
pub async fn login(username: String, password: String, next: Option<String>) -> Result<SignIn, AppError> {
    use crate::{
        server::{
            account::auth,
            reply::{finish, FormTargets},
        },
        shared::{login_url_for, safe_next, second_step_url},
    };
    let next = safe_next(next.as_deref());
    let failure = login_url_for(&next);
    let result = auth::login(username, password).await;
    let success = match &result {
        Ok(SignIn::SecondFactor { .. }) => second_step_url(&next),
        _ => next.clone(),
    };
    finish(result, FormTargets { success: &success, failure: &failure })
}

/// Signs out: the session is revoked on the server and both cookies cleared.
#[server(prefix = "/api", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::server::{
        account::auth,
        reply::{finish, FormTargets},
    };
    finish(auth::logout().await, FormTargets { success: "/", failure: "/" })
}

/// The signed-in user, or `null`.
#[server(prefix = "/api", endpoint = "current_user")]
pub async fn current_user() -> Result<Option<User>, AppError> {
    use crate::server::{
        account::auth,
        reply::{finish, FormTargets},
    };
    finish(Ok(auth::current_user()), FormTargets { success: "/profile", failure: "/" })
}

/// The caller's live sessions, newest first. Protected: `401` when signed out.
#[server(prefix = "/api", endpoint = "sessions")]
pub async fn list_sessions() -> Result<Vec<SessionInfo>, AppError> {
    use crate::server::{account::auth, reply::finish};
    finish(auth::list_sessions().await, SESSIONS_READ_TARGETS)
}

/// The caller's recent authentication events, newest first. Protected.
#[server(prefix = "/api", endpoint = "events")]
pub async fn recent_events() -> Result<Vec<AuditEntry>, AppError> {
    use crate::server::{account::auth, reply::finish};
    finish(auth::recent_events().await, SESSIONS_READ_TARGETS)
}

/// Where a plain request for `/sessions`' data goes: the page, or, signed out, the
/// sign-in page that returns to it.
#[cfg(feature = "ssr")]
const SESSIONS_READ_TARGETS: crate::server::reply::FormTargets<'static> =
    crate::server::reply::FormTargets { success: "/sessions", failure: "/login?next=%2Fsessions" };
