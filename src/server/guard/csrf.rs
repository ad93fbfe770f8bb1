//! Cross-site request refusal. Cookies ride along on any request a browser makes, so a
//! state-changing request whose `Origin` (or, lacking it, `Sec-Fetch-Site`, then
//! `Referer`) names another site is refused with `403` before any work is done.
//! Non-browser clients send none of these headers and pass.

use crate::error::{AppError, ErrorCode};
use crate::server::AppState;
use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, Method},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// The site's own origin is `PUBLIC_ORIGIN` when set (a proxy in front may rewrite
/// `Host`), else the request's `Host`.
pub async fn same_site_only(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let host = match &state.public_origin {
        Some(origin) => Some(authority_of(origin).to_string()),
        None => request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_string)
            .or_else(|| request.uri().authority().map(|a| a.to_string())),
    };
    if !safe && is_cross_site(request.headers(), host.as_deref()) {
        return AppError::new(ErrorCode::Forbidden, "cross-site request refused").into_response();
    }
    next.run(request).await
}

fn is_cross_site(headers: &HeaderMap, host: Option<&str>) -> bool {
    let text = |name| headers.get(name).map(|v| v.to_str().unwrap_or("\u{0}"));
    let same_host = |url: &str| host.is_some_and(|host| authority_of(url).eq_ignore_ascii_case(host));
    if let Some(origin) = text(header::ORIGIN) {
        return !same_host(origin);
    }
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site")) {
        return site == "cross-site";
    }
    if let Some(referer) = text(header::REFERER) {
        return !same_host(referer);
    }
    false
}

/// `https://host:port/path` → `host:port`; `null` and garbage → "".
pub fn authority_of(url: &str) -> &str {
    url.split_once("://").map(|(_, rest)| rest.split(['/', '?', '#']).next().unwrap_or("")).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    const HOST: Option<&str> = Some("127.0.0.1:3000");

    #[test]
    fn the_sites_own_origin_passes() {
        assert!(!is_cross_site(&headers(&[("origin", "http://127.0.0.1:3000")]), HOST));
        assert!(!is_cross_site(&headers(&[("referer", "http://127.0.0.1:3000/login?next=%2F")]), HOST));
        assert!(!is_cross_site(&headers(&[("sec-fetch-site", "same-origin")]), HOST));
        assert!(!is_cross_site(&headers(&[]), HOST), "curl and other non-browser clients");
    }

    #[test]
    fn another_sites_origin_is_refused() {
        assert!(is_cross_site(&headers(&[("origin", "https://evil.example")]), HOST));
        assert!(is_cross_site(&headers(&[("origin", "null")]), HOST));
        assert!(is_cross_site(&headers(&[("origin", "http://127.0.0.1:3000.evil.example")]), HOST));
        assert!(is_cross_site(&headers(&[("sec-fetch-site", "cross-site")]), HOST));
        assert!(is_cross_site(&headers(&[("referer", "https://evil.example/form")]), HOST));
    }

    #[test]
    fn origin_outranks_the_weaker_signals() {
        let h = headers(&[("origin", "https://evil.example"), ("sec-fetch-site", "same-origin")]);
        assert!(is_cross_site(&h, HOST));
    }
}
