//! Pages: what the server renders, and the redirect that guards `/profile`.

use crate::helpers::*;
use reqwest::StatusCode;

#[tokio::test]
async fn each_page_renders() {
    let app = spawn_app(&[]).await;
    for (path, text) in [("/", "Latch"), ("/login", "Sign in"), ("/register", "Register")] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let html = response.text().await.unwrap();
        assert!(html.contains(text), "{path} shows {text}");
    }
}

#[tokio::test]
async fn the_forms_have_the_contract_fields() {
    let app = spawn_app(&[]).await;
    for (path, action) in [("/login", "/api/login"), ("/register", "/api/register")] {
        let html = app.get(path).await.text().await.unwrap();
        assert!(html.contains(r#"name="username""#), "{path}");
        assert!(html.contains(r#"name="password""#), "{path}");
        assert!(html.contains(&format!(r#"action="{action}""#)), "{path} posts to {action} without JavaScript");
        assert!(html.contains(r#"method="post""#), "{path}");
        assert!(html.contains(r#"type="submit""#), "{path}");
    }
}

#[tokio::test]
async fn the_header_shows_the_login_state_in_the_server_html() {
    let app = spawn_app(&[]).await;
    let anonymous = app.get("/").await.text().await.unwrap();
    assert!(anonymous.contains("Sign in") && anonymous.contains("Register"));
    assert!(!anonymous.contains("Sign out"));

    app.register("headline", PASSWORD).await;
    let signed_in = app.get("/").await.text().await.unwrap();
    assert!(signed_in.contains("headline") && signed_in.contains("Sign out"));
    assert!(!signed_in.contains(r#"href="/login""#));
}

#[tokio::test]
async fn profile_redirects_an_anonymous_visitor_before_any_html() {
    let app = spawn_app(&[]).await;
    for path in ["/profile", "/profile/", "//profile"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert!(response.headers()["location"].to_str().unwrap().starts_with("/login?next=%2F"), "{path}");
    }
    let response = app.get("/profile").await;
    assert_eq!(response.headers()["location"], "/login?next=%2Fprofile");
    assert!(response.text().await.unwrap().is_empty(), "no page HTML");
}

#[tokio::test]
async fn profile_shows_the_signed_in_user() {
    let app = spawn_app(&[]).await;
    app.register("shown", PASSWORD).await;
    let response = app.get("/profile").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("shown"));
}

#[tokio::test]
async fn sessions_lists_where_the_user_is_signed_in_in_the_first_html() {
    let app = spawn_app(&[]).await;
    assert_eq!(app.get("/sessions").await.headers()["location"], "/login?next=%2Fsessions");
    app.register("listed", PASSWORD).await;
    let response = app.get("/sessions").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().contains("this browser"));
}

/// Without JavaScript nothing swaps a streamed fragment in: the database's answers must
/// be in the HTML itself, also when the request refreshed its tokens on the way. (Out of
/// order streaming left "Loading…" there in the release build, a timing this debug
/// build does not always reproduce; the Playwright runs without JavaScript caught it.)
#[tokio::test]
async fn pages_that_read_the_database_carry_the_data_in_their_html_after_a_refresh() {
    let app = spawn_app(&[("ACCESS_TOKEN_LIFETIME", "1")]).await;
    app.post_form("/api/register", &[("username", "inline"), ("password", PASSWORD), ("email", "inline@example.org")])
        .await;
    for (path, expected) in
        [("/sessions", "this browser"), ("/profile", r#"data-testid="profile-email">inline@example.org<"#)]
    {
        outlive(1).await;
        let response = app.get(path).await;
        assert!(cookie_named(&set_cookies(&response), "jwt_access").is_some(), "{path}: refreshed on the way");
        let html = response.text().await.unwrap();
        assert!(html.contains(expected), "{path}: {expected} in the HTML");
        assert!(!html.contains("Loading…"), "{path}");
    }
}

#[tokio::test]
async fn an_unknown_path_is_a_404_page() {
    let app = spawn_app(&[]).await;
    let response = app.get("/no/such/page").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.text().await.unwrap().contains("Page not found"));
}

#[tokio::test]
async fn healthz_checks_the_database() {
    let app = spawn_app(&[]).await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn a_page_that_calls_a_server_function_while_rendering_is_still_a_page() {
    let app = spawn_app(&[]).await;
    app.register("reloader", PASSWORD).await;
    let response = app
        .send(app.request(reqwest::Method::GET, "/sessions").header("accept", "text/html,application/xhtml+xml"))
        .await;
    assert_eq!(response.status(), StatusCode::OK, "a browser's reload of /sessions renders it");
    assert!(response.headers().get("location").is_none());
}

#[tokio::test]
async fn pages_carry_a_nonce_based_csp_and_protective_headers() {
    let app = spawn_app(&[]).await;
    let response = app.get("/login").await;
    let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_string());
    let csp = header("content-security-policy").expect("a CSP on pages");
    assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
    assert_eq!(header("referrer-policy").as_deref(), Some("same-origin"));
    assert_eq!(header("strict-transport-security").as_deref(), Some("max-age=31536000"));
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("form-action 'self'"), "{csp}");
    let nonce = csp.split("'nonce-").nth(1).and_then(|s| s.split('\'').next()).expect("a nonce").to_string();
    let html = response.text().await.unwrap();
    assert!(html.contains(&format!(r#"nonce="{nonce}""#)), "the hydration script carries the CSP's nonce");
    let again = app.get("/login").await.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(!again.contains(&nonce), "a fresh nonce per response");
}
