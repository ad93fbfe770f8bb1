//! The server functions: fields, statuses, bodies and cookies.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn register_answers_the_user_and_signs_in_with_both_cookies() {
    let app = spawn_app(&[]).await;
    let response = app.register("ada", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookies = set_cookies(&response);
    let user: serde_json::Value = response.json().await.unwrap();
    assert_eq!(user["username"], "ada");
    assert_eq!(user.as_object().unwrap().len(), 2, "exactly id and username: {user}");

    let access = cookie_named(&cookies, "jwt_access").expect("access cookie");
    let refresh = cookie_named(&cookies, "jwt_refresh").expect("refresh cookie");
    for (cookie, max_age) in [(access, 300), (refresh, 604_800)] {
        for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
            assert!(cookie.has(attribute), "{} lacks {attribute}: {}", cookie.name, cookie.raw);
        }
        assert_eq!(cookie.max_age(), Some(max_age), "{}", cookie.raw);
    }
    let access_claims = claims(&access.value);
    assert_eq!(access_claims["sub"], user["id"], "id equals the tokens' sub");
    assert_eq!(access_claims["typ"], "access");
    assert_eq!(claims(&refresh.value)["typ"], "refresh");
    assert_eq!(access_claims["sid"], claims(&refresh.value)["sid"]);
    assert_eq!(app.current_user().await["username"], "ada");
}

#[tokio::test]
async fn register_names_the_broken_rule() {
    let app = spawn_app(&[]).await;
    for (username, password, field) in [
        ("ab", PASSWORD, "username"),
        ("has space", PASSWORD, "username"),
        (&"x".repeat(33) as &str, PASSWORD, "username"),
        ("robert');--", PASSWORD, "username"),
        ("ada", "short", "password"),
        ("ada", &"p".repeat(1025) as &str, "password"),
    ] {
        let response = app.register(username, password).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{username:?}/{} chars", password.len());
        assert!(set_cookies(&response).is_empty(), "a refused registration sets no cookie");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["field"], field);
        assert!(body["message"].as_str().unwrap().starts_with(field), "{body}");
    }
}

#[tokio::test]
async fn a_taken_name_is_409_whatever_its_case_or_width() {
    let app = spawn_app(&[]).await;
    assert_eq!(app.register("Ada", PASSWORD).await.status(), StatusCode::OK);
    for twin in ["ada", "ADA", " ada ", "Ａｄａ"] {
        let response = app.register(twin, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::CONFLICT, "{twin:?}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["field"], "username");
    }
}

#[tokio::test]
async fn login_answers_the_user_with_both_cookies() {
    let app = spawn_app(&[]).await;
    let registered: serde_json::Value = app.register("grace", PASSWORD).await.json().await.unwrap();
    app.forget_cookies();
    let response = app.login("GRACE", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookies = set_cookies(&response);
    assert!(cookie_named(&cookies, "jwt_access").is_some());
    assert!(cookie_named(&cookies, "jwt_refresh").is_some());
    let user: serde_json::Value = response.json().await.unwrap();
    assert_eq!(user, registered);
}

#[tokio::test]
async fn unknown_user_and_wrong_password_fail_alike() {
    let app = spawn_app(&[]).await;
    app.register("linus", PASSWORD).await;
    app.forget_cookies();
    let wrong = app.login("linus", "not the password").await;
    let (wrong_status, wrong_cookies) = (wrong.status(), set_cookies(&wrong));
    let wrong_body = wrong.text().await.unwrap();
    let unknown = app.login("nobody", "not the password").await;
    let (unknown_status, unknown_cookies) = (unknown.status(), set_cookies(&unknown));
    let unknown_body = unknown.text().await.unwrap();
    let malformed = app.login("x", "not the password").await;
    assert_eq!(wrong_status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_status, StatusCode::UNAUTHORIZED);
    assert_eq!(malformed.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_body, unknown_body);
    assert!(wrong_body.contains("invalid username or password"));
    assert!(wrong_cookies.is_empty() && unknown_cookies.is_empty());
}

#[tokio::test]
async fn current_user_is_null_for_an_anonymous_caller() {
    let app = spawn_app(&[]).await;
    assert_eq!(app.current_user().await, json!(null));
}

#[tokio::test]
async fn logout_clears_both_cookies_and_revokes_the_session() {
    let app = spawn_app(&[]).await;
    app.register("ken", PASSWORD).await;
    let old_refresh = app.cookie("jwt_refresh").unwrap();

    let response = app.post_form("/api/logout", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookies = set_cookies(&response);
    for name in ["jwt_access", "jwt_refresh"] {
        let cleared = cookie_named(&cookies, name).unwrap_or_else(|| panic!("{name} cleared"));
        assert_eq!(cleared.max_age(), Some(0), "{}", cleared.raw);
        assert!(cleared.has("HttpOnly") && cleared.has("Path=/"));
    }
    assert_eq!(app.current_user().await, json!(null));

    // The old refresh cookie, replayed: its session is gone.
    app.set_cookie("jwt_refresh", &old_refresh);
    assert_eq!(app.current_user().await, json!(null));
    assert!(app.cookie("jwt_refresh").is_none(), "the dead cookie was cleared");
}

#[tokio::test]
async fn logout_is_never_an_error_for_an_anonymous_caller() {
    let app = spawn_app(&[]).await;
    let response = app.post_form("/api/logout", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn signing_in_again_replaces_cookies_set_before_it() {
    let app = spawn_app(&[]).await;
    app.register("eve", PASSWORD).await;
    let first_refresh = app.cookie("jwt_refresh").unwrap();
    let response = app.login("eve", PASSWORD).await;
    let cookies = set_cookies(&response);
    let second = cookie_named(&cookies, "jwt_refresh").unwrap();
    assert_ne!(claims(&second.value)["sid"], claims(&first_refresh)["sid"], "a fresh session");
    // The session the browser held before is over.
    app.forget_cookies();
    app.set_cookie("jwt_refresh", &first_refresh);
    assert_eq!(app.current_user().await, json!(null));
}

#[tokio::test]
async fn state_changing_functions_refuse_get() {
    let app = spawn_app(&[]).await;
    for path in ["/api/login", "/api/register", "/api/logout"] {
        let response = app.get(&format!("{path}?username=a&password=b")).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
    }
}

#[tokio::test]
async fn a_cross_site_post_is_refused_before_any_work() {
    let app = spawn_app(&[]).await;
    for path in ["/api/register", "/api/login", "/api/logout"] {
        let response = app
            .send(
                app.request(reqwest::Method::POST, path)
                    .header("origin", "https://evil.example")
                    .form(&[("username", "mallory"), ("password", PASSWORD)]),
            )
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    // Nothing was registered by the refused request.
    assert_eq!(app.login("mallory", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_oversized_body_is_413_and_the_server_lives_on() {
    let app = spawn_app(&[]).await;
    let huge = "x".repeat(1024 * 1024);
    let response = app.post_form("/api/login", &[("username", "a"), ("password", &huge)]).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.current_user().await, json!(null));
}

#[tokio::test]
async fn missing_fields_are_a_client_error() {
    let app = spawn_app(&[]).await;
    let response = app.post_form("/api/login", &[("username", "ada")]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_plain_form_login_redirects_to_next_with_303() {
    let app = spawn_app(&[]).await;
    app.register("noscript", PASSWORD).await;
    app.forget_cookies();
    let response = app
        .post_html_form("/api/login", &[("username", "noscript"), ("password", PASSWORD), ("next", "/profile")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/profile");
    assert!(cookie_named(&set_cookies(&response), "jwt_access").is_some());
}

#[tokio::test]
async fn a_failed_plain_form_login_goes_back_to_the_form_naming_the_error() {
    let app = spawn_app(&[]).await;
    let response =
        app.post_html_form("/api/login", &[("username", "nobody"), ("password", PASSWORD), ("next", "/profile")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/login?next=%2Fprofile&error=invalid_credentials");
    let page = app.get("/login?next=%2Fprofile&error=invalid_credentials").await.text().await.unwrap();
    assert!(page.contains("invalid username or password"));
}

#[tokio::test]
async fn a_plain_form_register_and_logout_redirect_with_303() {
    let app = spawn_app(&[]).await;
    let response = app.post_html_form("/api/register", &[("username", "plain"), ("password", PASSWORD)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/profile");
    let response = app.post_html_form("/api/register", &[("username", "plain"), ("password", PASSWORD)]).await;
    assert_eq!(response.headers()["location"], "/register?error=username_taken&field=username");
    let response = app.post_html_form("/api/logout", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/");
    assert!(app.cookie("jwt_access").is_none());
}

#[tokio::test]
async fn a_protected_function_is_401_for_an_anonymous_caller() {
    let app = spawn_app(&[]).await;
    let response = app.post_form("/api/sessions", &[]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "unauthorized");
}

#[tokio::test]
async fn the_session_list_shows_each_sign_in_and_marks_this_one() {
    let app = spawn_app(&[]).await;
    app.register("roamer", PASSWORD).await;
    let laptop = app.cookie("jwt_access").unwrap();
    app.forget_cookies();
    app.login("roamer", PASSWORD).await;
    let response = app.post_form("/api/sessions", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let list: Vec<serde_json::Value> = response.json().await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);

    // Signing out of one removes it from the other's list.
    app.forget_cookies();
    app.set_cookie("jwt_access", &laptop);
    app.post_form("/api/logout", &[]).await;
    app.login("roamer", PASSWORD).await;
    let list: Vec<serde_json::Value> = app.post_form("/api/sessions", &[]).await.json().await.unwrap();
    assert_eq!(list.len(), 2, "the phone's session and this new one; the laptop's is gone");
}
