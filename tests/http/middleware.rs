//! The middleware's four cases, through pages and server functions, with lifetimes
//! short enough to outlive.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

const SHORT: &[(&str, &str)] = &[("ACCESS_TOKEN_LIFETIME", "1")];

#[tokio::test]
async fn a_valid_access_cookie_is_enough_and_sets_nothing() {
    let app = spawn_app(&[]).await;
    app.register("ada", PASSWORD).await;
    let response = app.post_form("/api/current_user", &[]).await;
    assert!(set_cookies(&response).is_empty(), "no refresh while the access token is good");
    let user: serde_json::Value = response.json().await.unwrap();
    assert_eq!(user["username"], "ada");
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_by_a_server_function_call() {
    let app = spawn_app(SHORT).await;
    app.register("ada", PASSWORD).await;
    let (old_access, old_refresh) = (app.cookie("jwt_access").unwrap(), app.cookie("jwt_refresh").unwrap());
    outlive(1).await;

    let response = app.post_form("/api/current_user", &[]).await;
    let cookies = set_cookies(&response);
    let user: serde_json::Value = response.json().await.unwrap();
    assert_eq!(user["username"], "ada");

    let access = cookie_named(&cookies, "jwt_access").expect("a new access cookie");
    let refresh = cookie_named(&cookies, "jwt_refresh").expect("a rotated refresh cookie");
    assert_ne!(access.value, old_access);
    assert!(access.has("HttpOnly") && access.has("Secure") && access.has("SameSite=Lax") && access.has("Path=/"));
    let (old, new) = (claims(&old_refresh), claims(&refresh.value));
    assert_eq!(new["sid"], old["sid"], "rotation keeps the session");
    assert_ne!(new["jti"], old["jti"], "rotation gives a new jti");
    assert_eq!(new["exp"].as_i64().unwrap() - new["iat"].as_i64().unwrap(), 604_800);
}

#[tokio::test]
async fn an_expired_access_token_is_refreshed_by_a_page_load() {
    let app = spawn_app(SHORT).await;
    app.register("grace", PASSWORD).await;
    outlive(1).await;
    let response = app.get("/profile").await;
    assert_eq!(response.status(), StatusCode::OK, "still signed in: no redirect to login");
    let cookies = set_cookies(&response);
    assert!(cookie_named(&cookies, "jwt_access").is_some());
    assert!(cookie_named(&cookies, "jwt_refresh").is_some());
    let html = response.text().await.unwrap();
    assert!(html.contains("grace"), "the page renders the refreshed user");
}

#[tokio::test]
async fn a_rotated_refresh_token_replayed_inside_the_grace_window_is_served() {
    let app = spawn_app(SHORT).await;
    app.register("tabs", PASSWORD).await;
    let old_refresh = app.cookie("jwt_refresh").unwrap();
    outlive(1).await;
    assert_eq!(app.current_user().await["username"], "tabs"); // rotates
    let rotated = app.cookie("jwt_refresh").unwrap();

    // A second tab that still had the old cookie, a moment later.
    app.forget_cookies();
    app.set_cookie("jwt_refresh", &old_refresh);
    let response = app.post_form("/api/current_user", &[]).await;
    let cookies = set_cookies(&response);
    assert!(cookies.iter().all(|c| c.max_age() != Some(0)), "the racer clears nothing: {cookies:?}");
    let user: serde_json::Value = response.json().await.unwrap();
    assert_eq!(user["username"], "tabs");
    // It was handed the session's current refresh token, and the winner's still works.
    assert_eq!(claims(&app.cookie("jwt_refresh").unwrap())["jti"], claims(&rotated)["jti"]);
    app.forget_cookies();
    app.set_cookie("jwt_refresh", &rotated);
    assert_eq!(app.current_user().await["username"], "tabs");
}

#[tokio::test]
async fn a_rotated_refresh_token_replayed_after_the_grace_window_revokes_the_session() {
    let app = spawn_app(&[("ACCESS_TOKEN_LIFETIME", "1"), ("REFRESH_REUSE_GRACE", "1")]).await;
    app.register("victim", PASSWORD).await;
    let stolen = app.cookie("jwt_refresh").unwrap();
    outlive(1).await;
    assert_eq!(app.current_user().await["username"], "victim"); // the victim rotates
    let victims = app.cookie("jwt_refresh").unwrap();
    outlive(1).await;

    // The thief replays the old token after the window: refused, cookies cleared.
    app.forget_cookies();
    app.set_cookie("jwt_refresh", &stolen);
    let response = app.post_form("/api/current_user", &[]).await;
    let cookies = set_cookies(&response);
    assert_eq!(cookie_named(&cookies, "jwt_refresh").and_then(|c| c.max_age()), Some(0));
    assert_eq!(response.json::<serde_json::Value>().await.unwrap(), json!(null));

    // And the whole session is gone: the victim's current token is dead too.
    app.forget_cookies();
    app.set_cookie("jwt_refresh", &victims);
    assert_eq!(app.current_user().await, json!(null));
}

#[tokio::test]
async fn parallel_refreshes_with_one_cookie_all_succeed_and_rotate_once() {
    let app = spawn_app(SHORT).await;
    app.register("racer", PASSWORD).await;
    let refresh = app.cookie("jwt_refresh").unwrap();
    outlive(1).await;

    let calls = (0..8).map(|_| {
        let request = app
            .http
            .post(format!("{}/api/current_user", app.base))
            .header("cookie", format!("jwt_refresh={refresh}"))
            .form(&[] as &[(&str, &str)]);
        async move {
            let response = request.send().await.unwrap();
            let cookies = set_cookies(&response);
            let user: serde_json::Value = response.json().await.unwrap();
            (user, cookies)
        }
    });
    let results = futures_join_all(calls).await;
    let mut jtis = std::collections::BTreeSet::new();
    for (user, cookies) in &results {
        assert_eq!(user["username"], "racer", "every racer is served");
        let refreshed = cookie_named(cookies, "jwt_refresh").expect("every racer gets a refresh cookie");
        assert_ne!(refreshed.max_age(), Some(0), "no racer clears cookies");
        jtis.insert(claims(&refreshed.value)["jti"].as_str().unwrap().to_string());
    }
    assert_eq!(jtis.len(), 1, "one rotation: every racer holds the same new jti");
    assert_ne!(jtis.into_iter().next().unwrap(), claims(&refresh)["jti"].as_str().unwrap());
}

#[tokio::test]
async fn after_logout_both_old_cookies_stay_anonymous() {
    let app = spawn_app(SHORT).await;
    app.register("leaver", PASSWORD).await;
    let (access, refresh) = (app.cookie("jwt_access").unwrap(), app.cookie("jwt_refresh").unwrap());
    app.post_form("/api/logout", &[]).await;
    outlive(1).await;
    app.set_cookie("jwt_access", &access);
    app.set_cookie("jwt_refresh", &refresh);
    assert_eq!(app.current_user().await, json!(null));
    assert!(app.cookie("jwt_access").is_none() && app.cookie("jwt_refresh").is_none(), "both cleared");
}

#[tokio::test]
async fn a_restart_keeps_everyone_signed_in() {
    let first = spawn_app(&[]).await;
    first.register("stays", PASSWORD).await;
    let restarted = spawn_peer(&first, &[]).await;
    restarted.set_cookie("jwt_access", &first.cookie("jwt_access").unwrap());
    assert_eq!(restarted.current_user().await["username"], "stays", "the stored key verifies");
    restarted.forget_cookies();
    restarted.set_cookie("jwt_refresh", &first.cookie("jwt_refresh").unwrap());
    assert_eq!(restarted.current_user().await["username"], "stays", "and the session is shared");
}

#[tokio::test]
async fn a_huge_cookie_header_is_a_client_error_not_a_crash() {
    let app = spawn_app(&[]).await;
    app.set_cookie("jwt_access", &"x".repeat(100 * 1024));
    let response = app.send(app.request(reqwest::Method::GET, "/")).await;
    assert!(response.status().is_client_error(), "{}", response.status());
    app.forget_cookies();
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK, "and the server lives on");
}
