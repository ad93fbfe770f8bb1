//! Response hardening: a Content-Security-Policy for every page, built around the nonce
//! Leptos puts on its hydration script, and the standard protective headers on every
//! response.

use crate::server::AppState;
use axum::{
    extract::{Request, State},
    http::{header, HeaderValue},
    middleware::Next,
    response::Response,
};
use leptos::{config::Env, nonce::use_nonce, prelude::use_context};
use leptos_axum::ResponseOptions;

/// Called while a page renders on the server: only scripts carrying this request's
/// nonce run (the hydration script), WASM may compile, nothing may frame the page, and
/// forms post only to this site.
pub fn content_security_policy(options: &leptos::config::LeptosOptions) {
    let (Some(nonce), Some(response)) = (use_nonce(), use_context::<ResponseOptions>()) else { return };
    // The dev server's live reload talks over a websocket of its own.
    let reload = if options.env == Env::DEV {
        format!(" ws://{}:{}", options.site_addr.ip(), options.reload_port)
    } else {
        String::new()
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'{reload}; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// On every response.
pub async fn protective_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // With Secure cookies the site is served over HTTPS (or localhost, where browsers
    // ignore this header): keep browsers on HTTPS.
    if state.cookies.secure {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    response
}
