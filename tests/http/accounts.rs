//! Account changes: a new password ends every other session; a disabled or deleted
//! account loses access at its next refresh.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn changing_the_password_signs_out_every_other_session() {
    let app = spawn_app(&[]).await;
    app.register("mover", PASSWORD).await;
    let elsewhere = app.another_client("127.0.0.8");
    elsewhere.login("mover", PASSWORD).await;
    let stolen_refresh = elsewhere.cookie("jwt_refresh").unwrap();

    let response = app
        .post_form("/api/change_password", &[("current_password", PASSWORD), ("new_password", "a brand new secret")])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<serde_json::Value>().await.unwrap(), json!(1), "one other session signed out");

    // The other session's refresh token is dead; this one carries on.
    elsewhere.forget_cookies();
    elsewhere.set_cookie("jwt_refresh", &stolen_refresh);
    assert_eq!(elsewhere.current_user().await, json!(null));
    assert_eq!(app.current_user().await["username"], "mover");

    // Only the new password works now.
    app.forget_cookies();
    assert_eq!(app.login("mover", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.login("mover", "a brand new secret").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_a_valid_new_one() {
    let app = spawn_app(&[]).await;
    assert_eq!(
        app.post_form("/api/change_password", &[("current_password", PASSWORD), ("new_password", "whatever123")])
            .await
            .status(),
        StatusCode::UNAUTHORIZED,
        "signed out"
    );
    app.register("careful", PASSWORD).await;
    for (current, new, field) in
        [("wrong password", "another secret", "current_password"), (PASSWORD, "short", "new_password")]
    {
        let response =
            app.post_form("/api/change_password", &[("current_password", current), ("new_password", new)]).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["field"], field);
    }
    app.forget_cookies();
    assert_eq!(app.login("careful", PASSWORD).await.status(), StatusCode::OK, "unchanged");
}

#[tokio::test]
async fn a_disabled_user_loses_access_at_the_next_refresh_and_cannot_sign_in() {
    let app = spawn_app(&[("ACCESS_TOKEN_LIFETIME", "1")]).await;
    app.register("leaving", PASSWORD).await;
    let output = run_cli(&app, &[], &["users", "disable", "leaving"]).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    outlive(1).await;
    assert_eq!(app.current_user().await, json!(null), "the refresh is refused");
    assert_eq!(app.login("leaving", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    let again = run_cli(&app, &[], &["users", "disable", "leaving"]).await;
    assert!(!again.status.success(), "already disabled: says so");
}

#[tokio::test]
async fn a_deleted_user_loses_access_at_the_next_refresh() {
    let app = spawn_app(&[("ACCESS_TOKEN_LIFETIME", "1")]).await;
    app.register("gone", PASSWORD).await;
    let output = run_cli(&app, &[], &["users", "delete", "gone"]).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    outlive(1).await;
    assert_eq!(app.current_user().await, json!(null));
    assert_eq!(app.register("gone", PASSWORD).await.status(), StatusCode::OK, "the name is free again");
}

#[tokio::test]
async fn the_audit_log_records_what_happened_and_never_a_secret() {
    let app = spawn_app(&[("ACCESS_TOKEN_LIFETIME", "1")]).await;
    app.register("watched", PASSWORD).await;
    let refresh = app.cookie("jwt_refresh").unwrap();
    app.another_client("127.0.0.9").login("watched", "wrong password").await;
    outlive(1).await;
    assert_eq!(app.current_user().await["username"], "watched"); // a refresh
    let events: Vec<serde_json::Value> = app.post_form("/api/events", &[]).await.json().await.unwrap();
    let names: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    for expected in ["register", "login_failed", "refresh"] {
        assert!(names.contains(&expected), "{expected} in {names:?}");
    }
    let failed = events.iter().find(|e| e["event"] == "login_failed").unwrap();
    assert_eq!(failed["ip"], "127.0.0.9");

    // Reuse of the first refresh token, long rotated: detected and recorded.
    let thief = app.another_client("127.0.0.10");
    thief.set_cookie("jwt_refresh", &refresh);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let _ = thief.current_user().await; // inside the grace window: served
    let everything = std::fs::read(app.db_url.trim_start_matches("sqlite://")).unwrap_or_default();
    let text = String::from_utf8_lossy(&everything);
    assert!(!text.contains(PASSWORD), "no password stored in the clear");
    assert!(!text.contains(&refresh), "no token stored");
}

#[tokio::test]
async fn the_audit_log_is_only_the_callers_own() {
    let app = spawn_app(&[]).await;
    assert_eq!(app.post_form("/api/events", &[]).await.status(), StatusCode::UNAUTHORIZED);
    app.register("first", PASSWORD).await;
    app.forget_cookies();
    app.register("second", PASSWORD).await;
    let events: Vec<serde_json::Value> = app.post_form("/api/events", &[]).await.json().await.unwrap();
    assert_eq!(events.len(), 1, "only second's registration: {events:?}");
}
