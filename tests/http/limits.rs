//! Limits nobody can turn against a user: windows that end, the owner's own mail budget
//! apart from what strangers ask for, nothing expensive for free, bounded writes, and
//! inputs the rest of the system can use. Each test is an abuse that worked before
//! (the third security review).

use crate::{
    helpers::*,
    mailbox::*,
    reset::{forgot, verified_account},
};
use reqwest::{header, StatusCode};
use serde_json::Value;

fn retry_after(response: &reqwest::Response) -> u64 {
    response.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn strangers_asking_for_reset_mail_do_not_spend_the_owners_own_mail_budget() {
    // Before: six anonymous requests blocked the owner's email change for the hour.
    let smtp = Smtp::shared_or_own().await;
    let app = spawn_app(&[("SMTP_URL", &smtp.url()), ("THROTTLE_RESET_MAILS", "2")]).await;
    verified_account(&app, &smtp, "targeted").await;
    let stranger = app.another_client("127.0.0.31");
    for _ in 0..4 {
        assert_eq!(forgot(&stranger, "targeted").await.status(), StatusCode::OK);
    }
    let new = unique_address("moving");
    let changed = app.post_form("/api/change_email", &[("password", PASSWORD), ("email", &new)]).await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert!(smtp.wait_for(&new, 1).await[0].link("/verify-email").is_some());
    assert_eq!(app.post_form("/api/resend_verification", &[]).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn requests_past_a_limit_do_not_move_its_window() {
    // Before: every refused request started the hour again (Retry-After stayed 3600).
    let app = spawn_app(&[("THROTTLE_RESET_REQUESTS", "2")]).await;
    for login in ["a", "b"] {
        assert_eq!(forgot(&app, login).await.status(), StatusCode::OK);
    }
    let first = forgot(&app, "c").await;
    assert_eq!(first.status(), StatusCode::TOO_MANY_REQUESTS);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let later = forgot(&app, "d").await;
    assert_eq!(later.status(), StatusCode::TOO_MANY_REQUESTS);
    let (first, later) = (retry_after(&first), retry_after(&later));
    assert!(first <= 3600 && later + 2 <= first, "the window ends where it began: {first} s, then {later} s");
}

#[tokio::test]
async fn bogus_reset_tokens_are_throttled_per_address() {
    // Before: every bogus token cost an argon2 hash, without limit.
    let app = spawn_app(&[("THROTTLE_ADDRESS_FAILURES", "3")]).await;
    let mut statuses = Vec::new();
    for i in 0..8 {
        let token = format!("bogus-token-{i}-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        let response =
            app.post_form("/api/reset_password", &[("token", &token), ("new_password", "a brand new password")]).await;
        statuses.push(response.status());
    }
    assert_eq!(statuses[0], StatusCode::BAD_REQUEST, "{statuses:?}");
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    let other = app.another_client("127.0.0.32");
    let elsewhere = other
        .post_form(
            "/api/reset_password",
            &[("token", "bogus-elsewhere-aaaaaaaaaaaaaaaaaaaa"), ("new_password", "a brand new password")],
        )
        .await;
    assert_eq!(elsewhere.status(), StatusCode::BAD_REQUEST, "another address is not held up");
}

#[tokio::test]
async fn refused_requests_are_one_audit_row_per_window_with_a_count() {
    // Before: each throttled request wrote an audit row of its own.
    let app = spawn_app(&[("THROTTLE_ACCOUNT_FAILURES", "2")]).await;
    app.register("hammered", PASSWORD).await;
    let attacker = app.another_client("127.0.0.33");
    let mut refused = 0;
    for _ in 0..30 {
        if attacker.login("hammered", "a wrong password").await.status() == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        }
    }
    assert!(refused >= 20, "{refused}");
    let rows = count(&app, "SELECT COUNT(*) AS n FROM audit_events WHERE event = 'throttled'").await;
    assert!(rows <= 2, "{rows} rows for {refused} refusals");
    let counted =
        count(&app, "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) AS n FROM audit_events WHERE event = 'throttled'")
            .await;
    assert_eq!(counted, refused, "each refusal counted");
}

#[tokio::test]
async fn anonymous_passkey_ceremonies_are_limited_per_address() {
    // Before: 1,372 ceremonies a second, each a row.
    let app = spawn_app(&[("PUBLIC_ORIGIN", "https://latch.test")]).await;
    let mut statuses = Vec::new();
    for _ in 0..40 {
        statuses.push(app.post_form("/api/passkey_login_start", &[]).await.status());
    }
    assert_eq!(statuses[0], StatusCode::OK);
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    let stored = count(&app, "SELECT COUNT(*) AS n FROM webauthn_ceremonies").await;
    assert!(stored < 40, "{stored} ceremonies stored");
    let other = app.another_client("127.0.0.34");
    assert_eq!(other.post_form("/api/passkey_login_start", &[]).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_address_the_mailer_cannot_send_to_is_refused() {
    // Before: accepted, and its verification mail retried forever.
    let app = spawn_app(&[]).await;
    for address in ["\"a b\"@example.com", "\"ada\"@example.com"] {
        let response =
            app.post_form("/api/register", &[("username", "quoted"), ("password", PASSWORD), ("email", address)]).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{address}");
        assert_eq!(response.json::<Value>().await.unwrap()["field"], "email");
    }
    app.register("plain", PASSWORD).await;
    let change = app.post_form("/api/change_email", &[("password", PASSWORD), ("email", "\"a b\"@example.com")]).await;
    assert_eq!(change.json::<Value>().await.unwrap()["field"], "email");
}

#[tokio::test]
async fn a_message_that_cannot_be_sent_is_given_up_not_retried() {
    // Before: a recipient lettre refuses was retried with backoff, forever.
    let app = spawn_app(&[]).await;
    let mut db = database(&app).await;
    sqlx::query(
        "INSERT INTO outbox (id, user_id, recipient, subject, body_text, body_html, created_at, next_attempt_at) \
         VALUES ('unsendable', NULL, '\"a b\"@example.com', 'hello', 'text', '<p>html</p>', 0, 0)",
    )
    .execute(&mut db)
    .await
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(4500)).await;
    let attempts = count(&app, "SELECT attempts AS n FROM outbox WHERE id = 'unsendable'").await;
    assert_eq!(attempts, 1, "tried once, then given up");
    let settled = count(&app, "SELECT COUNT(*) AS n FROM outbox WHERE id = 'unsendable' AND sent_at IS NOT NULL").await;
    assert_eq!(settled, 1);
}

#[tokio::test]
async fn a_sign_in_racing_the_deletion_of_its_account_is_a_401_never_a_500() {
    // Before: the sign-in that lost the race answered 500.
    for round in 0..3 {
        let app = spawn_app(&[]).await;
        let name = format!("vanishing{round}");
        app.register(&name, PASSWORD).await;
        let deletion = {
            let app = app.clone();
            tokio::spawn(async move { app.post_form("/api/delete_account", &[("password", PASSWORD)]).await.status() })
        };
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        // Fewer than the account's free failures: each sign-in is counted before its
        // password is checked, so more at once would be throttled (429), not wrong.
        let logins = (0..4).map(|i| {
            let client = app.another_client(&format!("127.0.0.{}", 40 + i));
            let name = name.clone();
            async move { client.login(&name, PASSWORD).await.status() }
        });
        let statuses = futures_join_all(logins).await;
        assert_eq!(deletion.await.unwrap(), StatusCode::OK);
        for status in &statuses {
            assert!(*status == StatusCode::OK || *status == StatusCode::UNAUTHORIZED, "round {round}: {statuses:?}");
        }
        let orphans =
            count(&app, "SELECT COUNT(*) AS n FROM sessions WHERE user_id NOT IN (SELECT id FROM users)").await;
        assert_eq!(orphans, 0);
    }
}
