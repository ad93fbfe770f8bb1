//! Throttling: credential stuffing slows down, the account's owner is not locked out,
//! and nothing tells an attacker which usernames exist.

use crate::helpers::*;
use reqwest::StatusCode;

async fn status_and_retry(app: &TestApp, user: &str, password: &str) -> (StatusCode, Option<u64>) {
    let response = app.login(user, password).await;
    let retry = response.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse().ok());
    (response.status(), retry)
}

#[tokio::test]
async fn an_attacker_hammering_an_account_is_slowed_with_429_and_retry_after() {
    let app = spawn_app(&[]).await;
    app.register("victim", PASSWORD).await;
    let attacker = app.another_client("127.0.0.2");
    for attempt in 1..=5 {
        let (status, _) = status_and_retry(&attacker, "victim", "guess guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "attempt {attempt} is free");
    }
    // Each further failure doubles the wait (1 s, 2 s, 4 s, …): within a few attempts
    // the attacker is waiting, however slow the machine.
    let mut throttled = None;
    for _ in 0..5 {
        let (status, retry) = status_and_retry(&attacker, "victim", "guess guess").await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            throttled = retry;
            break;
        }
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert!(throttled.is_some_and(|s| s >= 1), "429 with a Retry-After: {throttled:?}");
    // Even the right password waits: the throttle is checked before the password.
    let (status, _) = status_and_retry(&attacker, "victim", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let body: serde_json::Value = attacker.login("victim", PASSWORD).await.json().await.unwrap();
    assert_eq!(body["code"], "throttled");
}

#[tokio::test]
async fn the_owner_signs_in_from_their_own_browser_while_an_attacker_is_throttled() {
    let app = spawn_app(&[]).await;
    app.register("owner", PASSWORD).await; // this browser now holds the account's device cookie
    app.post_form("/api/logout", &[]).await;
    let attacker = app.another_client("127.0.0.3");
    for _ in 0..8 {
        attacker.login("owner", "guess guess").await;
    }
    assert_eq!(status_and_retry(&attacker, "owner", PASSWORD).await.0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.login("owner", PASSWORD).await.status(), StatusCode::OK, "the owner is not locked out");
}

#[tokio::test]
async fn unknown_usernames_are_throttled_exactly_like_real_ones() {
    let app = spawn_app(&[]).await;
    app.register("real", PASSWORD).await;
    let attacker = app.another_client("127.0.0.4");
    let mut real = Vec::new();
    let mut ghost = Vec::new();
    for _ in 0..9 {
        real.push(status_and_retry(&attacker, "real", "guess guess").await);
        ghost.push(status_and_retry(&attacker, "ghost", "guess guess").await);
    }
    let shape = |v: &[(StatusCode, Option<u64>)]| v.iter().map(|(s, r)| (*s, r.is_some())).collect::<Vec<_>>();
    assert_eq!(shape(&real), shape(&ghost), "the same answers, attempt by attempt");
    assert_eq!(real.last().unwrap().0, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn one_address_failing_across_many_accounts_is_throttled() {
    let app = spawn_app(&[("THROTTLE_ADDRESS_FAILURES", "6")]).await;
    let stuffer = app.another_client("127.0.0.5");
    for i in 0..6 {
        let (status, _) = status_and_retry(&stuffer, &format!("user{i}"), "guess guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _) = status_and_retry(&stuffer, "someone_else", "guess guess").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Another address is unaffected.
    let (status, _) = status_and_retry(&app.another_client("127.0.0.6"), "someone_else", "guess guess").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn registrations_from_one_address_are_throttled() {
    let app = spawn_app(&[("THROTTLE_REGISTRATIONS", "3")]).await;
    let farm = app.another_client("127.0.0.7");
    for i in 0..3 {
        assert_eq!(farm.register(&format!("bot{i}"), PASSWORD).await.status(), StatusCode::OK);
        farm.forget_cookies();
    }
    let response = farm.register("bot3", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(app.register("human", PASSWORD).await.status(), StatusCode::OK, "other addresses register");
}

#[tokio::test]
async fn a_plain_form_post_that_is_throttled_goes_back_to_the_form() {
    let app = spawn_app(&[("THROTTLE_ACCOUNT_FAILURES", "1")]).await;
    app.post_html_form("/api/login", &[("username", "nobody"), ("password", "guess guess")]).await;
    let response = app.post_html_form("/api/login", &[("username", "nobody"), ("password", "guess guess")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/login?next=%2F&error=throttled");
}
