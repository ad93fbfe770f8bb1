//! The authentication layer, around every route but static assets. It decides who the
//! request is from, puts that `Identity` into the request's extensions (where pages and
//! server functions read it: a user refreshed a moment ago is the user they see), and
//! sets or clears cookies on the response head, before any body streams.
//!
//! 1. A valid access cookie: that user, with no database read.
//! 2. Otherwise a valid refresh cookie of a live session: that user; the session rotates
//!    and the response carries a new access cookie and the rotated refresh cookie.
//! 3. A refresh token replayed inside the grace window (parallel tabs) is served with the
//!    session's current tokens; past it, the session is revoked and the caller anonymous.
//! 4. Anything else: anonymous, and both cookies cleared.

use super::{
    auth::issue_pair,
    sessions::{self, Refresh},
    tokens::TokenType,
    AppState,
};
use crate::{error::AppError, shared::User};
use axum::{
    extract::{Request, State},
    http::{header, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use tower_cookies::Cookies;

/// Who a request is from, once the middleware has checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub user: User,
    /// The session the tokens belong to.
    pub sid: String,
}

/// Pages an anonymous visitor is sent to sign in for, before any HTML.
const PROTECTED_PAGES: &[&str] = &["/profile"];

pub async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if is_static_asset(path) {
        return next.run(request).await;
    }
    let Some(jar) = request.extensions().get::<Cookies>().cloned() else {
        // Without the cookie layer nothing can be read or set: a wiring bug, not a client's.
        tracing::error!("authenticate runs outside CookieManagerLayer");
        return AppError::internal().into_response();
    };
    let mentioned = state.cookies.mentioned_in(request.headers());
    let identity = match resolve(&state, &jar, mentioned).await {
        Ok(identity) => identity,
        // The database is down: say so and keep the cookies, which are still good.
        Err(error) => return error.into_response(),
    };
    let wants_page = matches!(*request.method(), Method::GET | Method::HEAD);
    let path = request.uri().path();
    if identity.is_none() && wants_page && is_protected(path) {
        let wanted = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or(path);
        return see_other(&crate::shared::login_url_for(wanted));
    }
    if let Some(identity) = identity {
        request.extensions_mut().insert(identity);
    }
    next.run(request).await
}

/// `mentioned`: the request named one of the cookies, parseable or not.
async fn resolve(state: &AppState, jar: &Cookies, mentioned: bool) -> Result<Option<Identity>, AppError> {
    let (access, refresh) = state.cookies.read(jar);
    if access.is_none() && refresh.is_none() && !mentioned {
        return Ok(None);
    }
    if let Some(claims) = access.and_then(|token| state.tokens.verify(&token, TokenType::Access).ok()) {
        if let Some(username) = claims.name {
            return Ok(Some(Identity { user: User { id: claims.sub, username }, sid: claims.sid }));
        }
    }
    if let Some(claims) = refresh.and_then(|token| state.tokens.verify(&token, TokenType::Refresh).ok()) {
        let new_jti = uuid::Uuid::new_v4().to_string();
        let outcome =
            sessions::refresh(&state.db, &claims, &new_jti, state.tokens.refresh_lifetime, state.grace).await?;
        if let Refresh::Rotated { user, jti } | Refresh::Raced { user, jti } = outcome {
            let pair = issue_pair(state, &user, &claims.sid, &jti)?;
            state.cookies.set(jar, pair);
            return Ok(Some(Identity { user, sid: claims.sid }));
        }
    }
    state.cookies.clear(jar);
    Ok(None)
}

/// Files cargo-leptos builds or copies from `public/`: no cookies to check.
fn is_static_asset(path: &str) -> bool {
    path.starts_with("/pkg/") || matches!(path, "/favicon.ico" | "/favicon.svg" | "/robots.txt")
}

/// `/profile`, `/profile/`, `//profile` and `/PROFILE` are all the protected page.
fn is_protected(path: &str) -> bool {
    let normalised: String = path.split('/').filter(|s| !s.is_empty()).collect::<Vec<_>>().join("/");
    PROTECTED_PAGES.iter().any(|page| page.trim_start_matches('/').eq_ignore_ascii_case(&normalised))
}

fn see_other(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location.to_string())]).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protection_survives_slashes_and_case() {
        for path in ["/profile", "/profile/", "//profile", "/PROFILE", "/Profile//"] {
            assert!(is_protected(path), "{path}");
        }
        for path in ["/", "/login", "/profiles", "/pkg/profile"] {
            assert!(!is_protected(path), "{path}");
        }
    }

    #[test]
    fn only_built_assets_skip_the_check() {
        assert!(is_static_asset("/pkg/latch.wasm"));
        assert!(is_static_asset("/favicon.ico"));
        assert!(!is_static_asset("/profile"));
        assert!(!is_static_asset("/api/login"));
        assert!(!is_static_asset("/PKG/x"));
    }
}
