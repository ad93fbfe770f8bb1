//! Response hardening: a Content-Security-Policy for every page, built around the nonce
//! Leptos puts on its hydration script, and the standard protective headers on every
//! response.
//!
//! The page tells the nonce to this layer through the request (`PageNonce`), and the
//! layer writes the header once the response is built: the header never depends on
//! when the streaming renderer copies its own response options, and an HTML response
//! that somehow names no nonce still gets a policy (one that runs no inline script).

use crate::server::AppState;
use axum::{
    extract::{Request, State},
    http::{header, request::Parts, HeaderValue},
    middleware::Next,
    response::Response,
};
use leptos::{config::Env, nonce::use_nonce, prelude::use_context};
use std::sync::{Arc, OnceLock};

/// Where a page rendering for this request leaves the nonce of its scripts.
#[derive(Clone, Default)]
pub struct PageNonce(Arc<OnceLock<String>>);

/// Called while a page renders on the server: hands this request's nonce to
/// `protective_headers`.
pub fn content_security_policy() {
    let (Some(nonce), Some(parts)) = (use_nonce(), use_context::<Parts>()) else { return };
    if let Some(slot) = parts.extensions.get::<PageNonce>() {
        let _ = slot.0.set(nonce.to_string());
    }
}

/// Only scripts carrying the page's nonce run (the hydration script), WASM may
/// compile, nothing may frame the page, and forms post only to this site.
fn policy(options: &leptos::config::LeptosOptions, nonce: Option<&str>) -> String {
    // The dev server's live reload talks over a websocket of its own.
    let reload = if options.env == Env::DEV {
        format!(" ws://{}:{}", options.site_addr.ip(), options.reload_port)
    } else {
        String::new()
    };
    let nonce = nonce.map(|n| format!(" 'nonce-{n}'")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self'{nonce} 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'{reload}; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
    )
}

/// On every response; on every page, the Content-Security-Policy.
pub async fn protective_headers(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let slot = PageNonce::default();
    request.extensions_mut().insert(slot.clone());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let html =
        headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("text/html"));
    if html {
        if let Ok(value) = HeaderValue::from_str(&policy(&state.leptos_options, slot.0.get().map(String::as_str))) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
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
