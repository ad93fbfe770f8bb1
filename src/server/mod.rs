//! The server: start-up, the router and its layers. Everything under `server/` is
//! compiled only with the `ssr` feature.
//!
//! A request passes, outermost first: header and body limits → compression → cache
//! and protective headers → cookies → cross-site refusal → authentication → the route
//! (a page, a server function, `/healthz`, `/.well-known/jwks.json`, or a static file).

pub mod account;
pub mod assets;
pub mod audit;
pub mod db;
pub mod guard;
pub mod mail;
pub mod reply;
pub mod request;
pub mod session;
pub mod settings;

use crate::app::{shell, App};
use account::password::Hasher;
use axum::{
    extract::{FromRef, Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::{from_fn, from_fn_with_state, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    serve::ListenerExt,
    Router,
};
use db::Db;
use guard::client;
use guard::{
    csrf, headers,
    throttle::{self, Kind, Limits},
};
use leptos::{config::LeptosOptions, prelude::provide_context};
use leptos_axum::{generate_route_list, LeptosRoutes};
use secrecy::ExposeSecret;
use session::{cookies::CookiePolicy, keys, middleware, revocation, tokens::Tokens};
use settings::Settings;
use std::{future::Future, net::SocketAddr, sync::Arc};
use tower_cookies::CookieManagerLayer;
use tower_http::{
    compression::{
        predicate::{NotForContentType, Predicate, SizeAbove},
        CompressionLayer,
    },
    limit::RequestBodyLimitLayer,
};

/// The largest request body: the forms are a few hundred bytes.
const MAX_BODY_BYTES: usize = 16 * 1024;
/// The largest `Cookie` header and the largest set of headers. Browsers keep cookies
/// under 4 KB each; more than this is an attack or a bug, answered before any work.
const MAX_COOKIE_BYTES: usize = 8 * 1024;
const MAX_HEADER_BYTES: usize = 32 * 1024;

/// What every handler shares. One pointer: each request clones it into several layers
/// and the page's context, and a clone of the fields themselves (LeptosOptions alone
/// holds a dozen shared strings) cost a few percent of an anonymous page.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// `leptos_axum`'s static-file and error handler reads the options from the state.
impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

pub struct Shared {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub tokens: Arc<Tokens>,
    pub hasher: Arc<Hasher>,
    pub cookies: Arc<CookiePolicy>,
    /// Seconds a rotated refresh token is still honoured.
    pub grace: i64,
    pub throttle: throttle::Policy,
    /// The site's origin as browsers see it, when a proxy in front rewrites `Host`.
    pub public_origin: Option<String>,
    pub mailer: Arc<mail::Mailer>,
    pub links: account::links::Lifetimes,
    /// Sessions revoked within the last access lifetime, checked after the signature.
    pub revoked: Arc<revocation::Revoked>,
    /// Which peers may say, in `X-Forwarded-For`, who the client is.
    pub proxies: Arc<client::TrustedProxies>,
    /// The site as a WebAuthn relying party; `None` when its origin is an IP address.
    pub passkeys: Option<Arc<webauthn_rs::Webauthn>>,
}

/// Passkey sign-ins one client address may start in five minutes.
pub const CEREMONIES_PER_ADDRESS: i64 = 30;

/// Why the server could not start: one line for the operator.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub struct Application {
    listener: tokio::net::TcpListener,
    router: Router,
    db: Db,
    addr: SocketAddr,
}

impl AppState {
    /// Connects and migrates the database and loads the keys.
    pub async fn new(settings: &Settings, leptos_options: LeptosOptions) -> Result<Self, StartError> {
        let db = db::connect(&settings.database_url).await.map_err(|e| StartError(e.to_string()))?;
        let ring =
            keys::load(settings.jwt_secret.as_ref(), settings.jwt_algorithm, &db, settings.refresh_token_lifetime)
                .await
                .map_err(|e| StartError(format!("JWT_SECRET: cannot load the stored keys: {e}")))?;
        match account::users::rekey_legacy(&db).await {
            Ok((0, 0)) => {}
            Ok((done, kept)) => tracing::info!(done, kept, "usernames re-keyed by full case folding"),
            Err(e) => return Err(StartError(format!("DATABASE_URL: cannot re-key usernames: {e}"))),
        }
        let hasher = Hasher::new().map_err(|_| StartError("argon2: cannot hash".into()))?;
        let mailer = mail::Mailer::new(settings, leptos_options.site_addr).map_err(StartError)?;
        let passkeys = account::passkeys::relying_party(&mailer.origin).map_err(StartError)?;
        if passkeys.is_none() {
            tracing::warn!(origin = %mailer.origin, "passkeys are off: browsers refuse an IP address as relying party");
        }
        let revoked = revocation::Revoked::new(settings.access_token_lifetime);
        revocation::load(&db, &revoked)
            .await
            .map_err(|e| StartError(format!("DATABASE_URL: cannot read revocations: {e}")))?;
        Ok(AppState(Arc::new(Shared {
            db,
            tokens: Arc::new(Tokens::new(ring, settings.access_token_lifetime, settings.refresh_token_lifetime)),
            hasher: Arc::new(hasher),
            cookies: Arc::new(CookiePolicy::from_settings(settings)),
            grace: settings.refresh_reuse_grace,
            throttle: throttle::Policy {
                account: Limits { free: settings.throttle_account_failures, window: 15 * 60, kind: Kind::Backoff },
                address: Limits { free: settings.throttle_address_failures, window: 15 * 60, kind: Kind::Backoff },
                registration: Limits { free: settings.throttle_registrations, window: 60 * 60, kind: Kind::Backoff },
                reset_requests: Limits { free: settings.throttle_reset_requests, window: 60 * 60, kind: Kind::Quota },
                mails: Limits { free: settings.throttle_reset_mails, window: 60 * 60, kind: Kind::Quota },
                // Passkey sign-in ceremonies per address: plenty for people, few rows.
                ceremonies: Limits {
                    free: if settings.throttle_address_failures > 0 { CEREMONIES_PER_ADDRESS } else { 0 },
                    window: 5 * 60,
                    kind: Kind::Quota,
                },
            },
            public_origin: settings.public_origin.clone(),
            mailer: Arc::new(mailer),
            links: account::links::Lifetimes {
                verify_lifetime: settings.verify_token_lifetime,
                reset_lifetime: settings.reset_token_lifetime,
            },
            revoked: Arc::new(revoked),
            proxies: Arc::new(settings.trusted_proxies.clone()),
            passkeys: passkeys.map(Arc::new),
            leptos_options,
        })))
    }
}

impl Application {
    /// Builds the state and binds the listener (`site_addr` may have port 0: `addr()`
    /// tells the port chosen).
    pub async fn build(settings: Settings, mut leptos_options: LeptosOptions) -> Result<Self, StartError> {
        let site_addr = leptos_options.site_addr;
        let listener = tokio::net::TcpListener::bind(&site_addr)
            .await
            .map_err(|e| StartError(format!("LEPTOS_SITE_ADDR: cannot listen on {site_addr}: {e}")))?;
        let addr = listener.local_addr().map_err(|e| StartError(format!("LEPTOS_SITE_ADDR: {e}")))?;
        // The port chosen, when asked for port 0: links in mail name it.
        leptos_options.site_addr = addr;
        let state = AppState::new(&settings, leptos_options).await?;
        let db = state.db.clone();
        if settings.jwt_secret.is_none() {
            tokio::spawn(reload_keys(state.clone(), settings.clone()));
        }
        tokio::spawn(mail::delivery::run(state.db.clone(), state.mailer.clone()));
        let listen_on =
            settings.database_url.expose_secret().starts_with("postgres").then(|| settings.database_url.clone());
        tokio::spawn(revocation::run(state.db.clone(), state.revoked.clone(), listen_on));
        Ok(Application { listener, router: router(state), db, addr })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` resolves, lets in-flight requests finish, closes the pool.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        // Without TCP_NODELAY, each streamed page waits ~40 ms on Nagle + delayed ACK.
        let listener = self.listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        tracing::info!("listening on http://{}", self.addr);
        axum::serve(listener, self.router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await?;
        self.db.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Reloads the stored keys twice per propagation period, so a rotated key is known
/// here before any instance signs with it, and starts signing here on time.
async fn reload_keys(state: AppState, settings: Settings) {
    let period = std::time::Duration::from_millis((settings.key_propagation as u64 * 1000 / 2).max(500));
    loop {
        tokio::time::sleep(period).await;
        match keys::reload(settings.jwt_algorithm, &state.db, settings.refresh_token_lifetime).await {
            Ok(ring) => state.tokens.replace_ring(ring),
            Err(error) => tracing::warn!(%error, "cannot reload the signing keys; keeping the current ones"),
        }
    }
}

/// The whole app: every route and layer, ready to serve or to test in process.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let page_context = {
        let state = state.clone();
        move || provide_context(state.clone())
    };
    let page_shell = {
        let options = state.leptos_options.clone();
        move || shell(options.clone())
    };
    // Streamed HTML must not wait in a compressor's buffer; the static files are where
    // the bytes are.
    let compress_when = SizeAbove::new(256).and(NotForContentType::const_new("text/html"));

    Router::new()
        .route("/api/", post(no_such_server_function))
        .route("/api/{*fn_name}", post(no_such_server_function))
        .route("/healthz", get(healthz))
        .route("/.well-known/jwks.json", get(jwks))
        .leptos_routes_with_context(&state, routes, page_context, page_shell)
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(from_fn_with_state(state.clone(), middleware::authenticate))
        .layer(from_fn_with_state(state.clone(), csrf::same_site_only))
        .layer(from_fn(keep_redirects_on_site))
        .layer(CookieManagerLayer::new())
        .layer(from_fn_with_state(state.clone(), headers::protective_headers))
        .layer(from_fn(cache_static))
        .layer(CompressionLayer::new().compress_when(compress_when))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(from_fn(refuse_oversized_headers))
        .with_state(state)
}

/// Every server function has a route of its own (`leptos_routes_with_context` adds
/// them); a `POST` here names none.
async fn no_such_server_function(request: Request) -> Response {
    tracing::debug!(path = %request.uri().path(), "no such server function");
    crate::error::AppError::not_found("no such endpoint").into_response()
}

/// For a plain form post that a server function does not redirect itself (or whose
/// fields could not even be read), the framework sends the browser back to the
/// `Referer`, wherever that is. Every function names its own targets
/// (`reply::finish`); this is the backstop: a redirect that would leave the site goes
/// home instead.
async fn keep_redirects_on_site(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let Some(location) = response.headers().get(header::LOCATION) else { return response };
    let location = location.to_str().unwrap_or("//");
    if crate::shared::safe_next(Some(location)) != location {
        *response.status_mut() = StatusCode::SEE_OTHER;
        response.headers_mut().insert(header::LOCATION, HeaderValue::from_static("/"));
    }
    response
}

/// `431` for a request whose headers, or cookies, are larger than any honest browser's.
async fn refuse_oversized_headers(request: Request, next: Next) -> Response {
    let headers = request.headers();
    let total: usize = headers.iter().map(|(name, value)| name.as_str().len() + value.len()).sum();
    let cookies: usize = headers.get_all(header::COOKIE).iter().map(|value| value.len()).sum();
    if total > MAX_HEADER_BYTES || cookies > MAX_COOKIE_BYTES {
        return (StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "request headers too large").into_response();
    }
    next.run(request).await
}

/// The public keys that verify Latch's tokens (none under HS256). Cached briefly: a
/// rotated key appears here a whole propagation period before it signs.
async fn jwks(State(state): State<AppState>) -> Response {
    let mut response = axum::Json(state.tokens.jwks()).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=15"));
    response
}

/// `200 ok` when the database answers, `503` when it does not.
async fn healthz(State(state): State<AppState>) -> Response {
    match sqlx::query("SELECT 1").execute(&state.db).await {
        Ok(_) => (StatusCode::OK, "ok").into_response(),
        Err(error) => {
            tracing::warn!(%error, "health check: database unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// Built files under `/pkg/` carry a content hash in their names (cargo-leptos
/// `hash-files`), so browsers may keep them for a year; `public/` files for an hour.
/// Everything else is `no-store`: a page may be one user's, and a response may carry
/// their token cookies, which no shared cache or CDN must keep.
async fn cache_static(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let mut response = next.run(request).await;
    if response.headers().contains_key(header::CACHE_CONTROL) {
        return response; // a route that chose its own (the JWKS)
    }
    let policy = match path.as_str() {
        _ if !response.status().is_success() => "no-store",
        p if p.starts_with("/pkg/") => "public, max-age=31536000, immutable",
        "/favicon.ico" | "/favicon.svg" | "/robots.txt" => "public, max-age=3600",
        // Not content-hashed: asked again each time, answered 304 while unchanged.
        "/passkeys.js" => "no-cache",
        _ => "no-store",
    };
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    response
}
