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
    cookies::Presented,
    revocation::Revoked,
    sessions::{self, ClientInfo, Refresh},
    tokens::{TokenType, Tokens},
};
use crate::server::{request::issue_pair, AppState};
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
const PROTECTED_PAGES: &[&str] = &["/profile", "/sessions"];

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
    let identity = match resolve(&state, &jar, request.headers(), request.extensions()).await {
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

/// `jar` is where new cookies go; the headers carry the tokens, and with `extensions`
/// (the peer address) name the client for the audit log.
async fn resolve(
    state: &AppState,
    jar: &Cookies,
    headers: &axum::http::HeaderMap,
    extensions: &axum::http::Extensions,
) -> Result<Option<Identity>, AppError> {
    let Presented { access, refresh, mentioned } = state.cookies.read(headers);
    if !mentioned {
        return Ok(None);
    }
    if let Some(identity) = access_identity(&state.tokens, &state.revoked, access.as_deref()) {
        return Ok(Some(identity));
    }
    if let Some(claims) = refresh.and_then(|token| state.tokens.verify(&token, TokenType::Refresh).ok()) {
        let new_jti = uuid::Uuid::new_v4().to_string();
        let client = ClientInfo::of(headers, extensions, &state.proxies);
        let lifetime = state.tokens.refresh_lifetime;
        let outcome = sessions::refresh(&state.db, &claims, &new_jti, lifetime, state.grace, &client).await?;
        let (user, jti) = match outcome {
            Refresh::Rotated { user, jti } | Refresh::Raced { user, jti } => (user, jti),
            Refresh::Reused | Refresh::Refused => {
                state.cookies.clear(jar);
                return Ok(None);
            }
        };
        let pair = issue_pair(state, &user, &claims.sid, &jti)?;
        state.cookies.set(jar, pair);
        crate::server::guard::device::renew(state, jar, &user.id);
        return Ok(Some(Identity { user, sid: claims.sid }));
    }
    state.cookies.clear(jar);
    Ok(None)
}

/// Case 1, the path nearly every request takes: a valid access token of a session not
/// revoked, checked with no database read. `None` sends the caller on to the refresh.
/// (`make bench` times this against `jsonwebtoken::decode` alone: `benches/token_path.rs`.)
pub fn access_identity(tokens: &Tokens, revoked: &Revoked, access: Option<&str>) -> Option<Identity> {
    let claims = tokens.verify(access?, TokenType::Access).ok()?;
    // A revoked session's access token is refused on every instance within seconds
    // (`revocation`): the refresh then finds the session over.
    if revoked.contains(&claims.sid) {
        return None;
    }
    Some(Identity { user: User { id: claims.sub, username: claims.name? }, sid: claims.sid })
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

/// The four cases in process: the middleware alone, in front of a probe that reports
/// the identity it was handed.
#[cfg(test)]
mod in_process {
    use super::*;
    use crate::server::{db::now, session::sessions::ClientInfo, settings::Settings, AppState};
    use axum::{
        body::Body, http::Request as HttpRequest, middleware::from_fn_with_state, routing::get, Extension, Router,
    };
    use tower::ServiceExt;
    use tower_cookies::CookieManagerLayer;

    struct Fixture {
        state: AppState,
        _dir: tempfile::TempDir,
        user: User,
        sid: String,
        refresh_jti: String,
    }

    async fn fixture(grace: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let settings = Settings::from_sources(None, |k| match k {
            "DATABASE_URL" => Some(url.clone()),
            "REFRESH_REUSE_GRACE" => Some(grace.to_string()),
            _ => None,
        })
        .unwrap();
        let options = leptos::config::LeptosOptions::builder().output_name("latch").build();
        let state = AppState::new(&settings, options).await.unwrap();
        let username = crate::server::account::domain::Username::parse("probe").unwrap();
        let user = crate::server::account::users::create(&state.db, &username, "$argon2id$unused").await.unwrap();
        let refresh_jti = "jti-1".to_string();
        let sid = sessions::create(
            &state.db,
            &user.id,
            &refresh_jti,
            3600,
            &ClientInfo::default(),
            sessions::Method::Password,
        )
        .await
        .unwrap();
        Fixture { state, _dir: dir, user, sid, refresh_jti }
    }

    fn app(state: AppState) -> Router {
        let probe = |identity: Option<Extension<Identity>>| async move {
            identity.map(|Extension(i)| i.user.username).unwrap_or_else(|| "anonymous".into())
        };
        Router::new()
            .route("/probe", get(probe))
            .layer(from_fn_with_state(state.clone(), authenticate))
            .layer(CookieManagerLayer::new())
            .with_state(state)
    }

    struct Answer {
        status: StatusCode,
        who: String,
        set_cookies: Vec<String>,
    }

    async fn call(f: &Fixture, cookies: &[(&str, &str)]) -> Answer {
        let header = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
        let request = HttpRequest::get("/probe").header("cookie", header).body(Body::empty()).unwrap();
        let response = app(f.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let set_cookies =
            response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        Answer { status, who: String::from_utf8_lossy(&body).into_owned(), set_cookies }
    }

    fn token(f: &Fixture, typ: TokenType, jti: &str, issued: i64) -> String {
        let name = (typ == TokenType::Access).then_some(f.user.username.as_str());
        f.state.tokens.issue(typ, &f.user.id, &f.sid, jti, name, issued).unwrap()
    }

    fn cleared(answer: &Answer) -> bool {
        ["jwt_access=;", "jwt_refresh=;"]
            .iter()
            .all(|c| answer.set_cookies.iter().any(|s| s.starts_with(c) && s.contains("Max-Age=0")))
    }

    #[tokio::test]
    async fn case_1_a_valid_access_cookie_needs_no_database() {
        let f = fixture("10").await;
        let access = token(&f, TokenType::Access, "a1", now());
        // With the pool closed, any database read would fail: none is made.
        f.state.db.close().await;
        let answer = call(&f, &[("jwt_access", &access)]).await;
        assert_eq!(answer.who, "probe");
        assert!(answer.set_cookies.is_empty());
    }

    #[tokio::test]
    async fn case_2_an_expired_access_cookie_is_refreshed_from_the_refresh_cookie() {
        let f = fixture("10").await;
        let expired = token(&f, TokenType::Access, "a1", now() - 301);
        let refresh = token(&f, TokenType::Refresh, &f.refresh_jti, now());
        let answer = call(&f, &[("jwt_access", &expired), ("jwt_refresh", &refresh)]).await;
        assert_eq!(answer.who, "probe");
        assert!(answer.set_cookies.iter().any(|c| c.starts_with("jwt_access=ey")));
        assert!(answer.set_cookies.iter().any(|c| c.starts_with("jwt_refresh=ey")));
    }

    #[tokio::test]
    async fn case_3_a_replay_inside_the_grace_window_is_served_and_after_it_revokes() {
        let f = fixture("10").await;
        let refresh = token(&f, TokenType::Refresh, &f.refresh_jti, now());
        assert_eq!(call(&f, &[("jwt_refresh", &refresh)]).await.who, "probe"); // rotates
        let replay = call(&f, &[("jwt_refresh", &refresh)]).await;
        assert_eq!(replay.who, "probe", "a second tab, a moment later");
        assert!(!cleared(&replay));

        let strict = fixture("0").await;
        let refresh = token(&strict, TokenType::Refresh, &strict.refresh_jti, now());
        let rotated = call(&strict, &[("jwt_refresh", &refresh)]).await;
        let new_refresh = rotated
            .set_cookies
            .iter()
            .find_map(|c| c.strip_prefix("jwt_refresh="))
            .and_then(|c| c.split(';').next())
            .unwrap()
            .to_string();
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let replay = call(&strict, &[("jwt_refresh", &refresh)]).await;
        assert_eq!(replay.who, "anonymous");
        assert!(cleared(&replay));
        assert_eq!(call(&strict, &[("jwt_refresh", &new_refresh)]).await.who, "anonymous", "the session is revoked");
    }

    #[tokio::test]
    async fn case_4_anything_else_is_anonymous_and_cleared() {
        let f = fixture("10").await;
        let access = token(&f, TokenType::Access, "a1", now());
        let refresh = token(&f, TokenType::Refresh, &f.refresh_jti, now());
        let expired_refresh = token(&f, TokenType::Refresh, &f.refresh_jti, now() - 604_801);
        for (why, cookies) in [
            ("garbage", vec![("jwt_access", "garbage")]),
            ("refresh as access", vec![("jwt_access", refresh.as_str())]),
            ("access as refresh", vec![("jwt_refresh", access.as_str())]),
            ("expired refresh", vec![("jwt_refresh", expired_refresh.as_str())]),
            ("empty values", vec![("jwt_access", ""), ("jwt_refresh", "")]),
        ] {
            let cookies: Vec<(&str, &str)> = cookies.into_iter().collect();
            let answer = call(&f, &cookies).await;
            assert_eq!(answer.who, "anonymous", "{why}");
            assert!(cleared(&answer), "{why}: {:?}", answer.set_cookies);
        }
    }

    #[tokio::test]
    async fn a_refresh_with_the_database_down_is_503_and_keeps_the_cookies() {
        let f = fixture("10").await;
        let refresh = token(&f, TokenType::Refresh, &f.refresh_jti, now());
        f.state.db.close().await;
        let answer = call(&f, &[("jwt_refresh", &refresh)]).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(answer.set_cookies.is_empty(), "{:?}", answer.set_cookies);
    }

    #[tokio::test]
    async fn an_anonymous_visitor_to_a_protected_page_is_sent_to_login() {
        let f = fixture("10").await;
        let router = Router::new()
            .route("/profile", get(|| async { "secret page" }))
            .layer(from_fn_with_state(f.state.clone(), authenticate))
            .layer(CookieManagerLayer::new())
            .with_state(f.state.clone());
        let response = router.oneshot(HttpRequest::get("/profile").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()["location"], "/login?next=%2Fprofile");
    }
}
