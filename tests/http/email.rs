//! The email address: given at registration or changed on `/profile`, verified by a
//! single-use link that arrives through a real SMTP server.

use crate::{helpers::*, mailbox::*};
use reqwest::StatusCode;
use serde_json::json;

async fn register_with_email(app: &TestApp, name: &str, email: &str) -> reqwest::Response {
    app.post_form("/api/register", &[("username", name), ("password", PASSWORD), ("email", email)]).await
}

#[tokio::test]
async fn an_address_given_at_registration_is_verified_by_its_link_once() {
    let smtp = Smtp::shared_or_own().await;
    let app = spawn_app(&[("SMTP_URL", &smtp.url())]).await;
    let email = unique_address("ada");
    assert_eq!(register_with_email(&app, "ada", &email).await.status(), StatusCode::OK);

    let account = app.post_form("/api/account", &[]).await.json::<serde_json::Value>().await.unwrap();
    let id = account["id"].clone();
    assert_eq!(
        account,
        json!({"id": id, "username": "ada", "email": email, "email_verified": false, "totp": false, "passkeys": 0})
    );

    let mail = smtp.wait_for(&email, 1).await.remove(0);
    assert!(mail.header("Subject").unwrap().contains("Confirm your email"), "{}", mail.raw);
    assert!(mail.raw.contains("text/plain") && mail.raw.contains("text/html"), "both bodies");
    let link = mail.link("/verify-email").expect("a verification link");
    assert!(link.starts_with(&format!("{}/verify-email?token=", app.base)), "{link}");
    let path = link.trim_start_matches(&app.base).to_string();

    // Another browser, signed out, follows it.
    let stranger = app.another_client("127.0.0.9");
    let page = stranger.get(&path).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Your email address is verified"));
    assert_eq!(
        app.post_form("/api/account", &[]).await.json::<serde_json::Value>().await.unwrap()["email_verified"],
        true
    );

    let again = stranger.get(&path).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST, "single use");
    assert!(again.text().await.unwrap().contains("already used"));
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_a_400_page() {
    let app = spawn_app(&[]).await;
    for path in ["/verify-email?token=not-a-token", "/verify-email"] {
        let page = app.get(path).await;
        assert_eq!(page.status(), StatusCode::BAD_REQUEST, "{path}");
        assert!(page.text().await.unwrap().contains("invalid"), "{path}");
    }
    let api = app.post_form("/api/verify_email", &[("token", "forged")]).await;
    assert_eq!(api.status(), StatusCode::BAD_REQUEST);
    assert_eq!(api.json::<serde_json::Value>().await.unwrap()["code"], "invalid_token");
}

#[tokio::test]
async fn a_malformed_address_is_a_400_naming_email_and_creates_nothing() {
    let app = spawn_app(&[]).await;
    for bad in ["not-an-address", "ada@", "ada@localhost", "a b@example.org"] {
        let response = register_with_email(&app, "ada", bad).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["field"], "email", "{bad}");
    }
    assert_eq!(app.register("ada", PASSWORD).await.status(), StatusCode::OK, "the name is still free");
    let response = app.post_form("/api/change_email", &[("password", PASSWORD), ("email", "nope")]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.json::<serde_json::Value>().await.unwrap()["field"], "email");
}

#[tokio::test]
async fn an_empty_email_field_means_no_address() {
    let app = spawn_app(&[]).await;
    assert_eq!(register_with_email(&app, "plain", "").await.status(), StatusCode::OK);
    let account = app.post_form("/api/account", &[]).await.json::<serde_json::Value>().await.unwrap();
    assert_eq!(account["email"], json!(null));
    assert_eq!(account["email_verified"], false);
}

#[tokio::test]
async fn the_account_and_email_functions_need_a_signed_in_caller() {
    let app = spawn_app(&[]).await;
    for (path, form) in [
        ("/api/account", vec![]),
        ("/api/change_email", vec![("password", PASSWORD), ("email", "x@example.org")]),
        ("/api/resend_verification", vec![]),
        ("/api/delete_account", vec![("password", PASSWORD)]),
    ] {
        let response = app.post_form(path, &form).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(response.json::<serde_json::Value>().await.unwrap()["code"], "unauthorized", "{path}");
    }
}

#[tokio::test]
async fn changing_the_address_needs_the_password_and_tells_the_old_verified_one() {
    let smtp = Smtp::shared_or_own().await;
    let app = spawn_app(&[("SMTP_URL", &smtp.url())]).await;
    let (old, new) = (unique_address("old"), unique_address("new"));
    register_with_email(&app, "mover", &old).await;
    let link = smtp.wait_for(&old, 1).await[0].link("/verify-email").unwrap();
    assert_eq!(app.get(link.trim_start_matches(&app.base)).await.status(), StatusCode::OK);

    let wrong = app.post_form("/api/change_email", &[("password", "not my password"), ("email", &new)]).await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert_eq!(wrong.json::<serde_json::Value>().await.unwrap()["field"], "password");

    let changed = app.post_form("/api/change_email", &[("password", PASSWORD), ("email", &new)]).await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_eq!(changed.json::<serde_json::Value>().await.unwrap(), json!({"email": new, "email_verified": false}));

    let verification = smtp.wait_for(&new, 1).await.remove(0);
    assert!(verification.link("/verify-email").is_some());
    let notices = smtp.wait_for(&old, 2).await;
    assert!(
        notices.iter().any(|m| m.header("Subject").unwrap_or_default().contains("was changed")),
        "the old verified address is told"
    );
    // The old address's link, had it been kept, no longer verifies anything.
    let account = app.post_form("/api/account", &[]).await.json::<serde_json::Value>().await.unwrap();
    assert_eq!((account["email"].as_str(), account["email_verified"].as_bool()), (Some(new.as_str()), Some(false)));
}

#[tokio::test]
async fn send_the_link_again_replaces_the_old_link_and_is_throttled() {
    let smtp = Smtp::shared_or_own().await;
    let app = spawn_app(&[("SMTP_URL", &smtp.url()), ("THROTTLE_RESET_MAILS", "2")]).await;
    let email = unique_address("again");
    register_with_email(&app, "again", &email).await;
    let first = smtp.wait_for(&email, 1).await[0].link("/verify-email").unwrap();

    assert_eq!(app.post_form("/api/resend_verification", &[]).await.status(), StatusCode::OK);
    smtp.wait_for(&email, 2).await;

    assert_eq!(app.post_form("/api/resend_verification", &[]).await.status(), StatusCode::OK);
    let throttled = app.post_form("/api/resend_verification", &[]).await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(throttled.headers().contains_key("retry-after"));

    let old = app.get(first.trim_start_matches(&app.base)).await;
    assert_eq!(old.status(), StatusCode::BAD_REQUEST, "only the newest link works");
    assert!(old.text().await.unwrap().contains("newer link"));
}

#[tokio::test]
async fn changing_the_address_again_and_again_cannot_flood_a_mailbox() {
    let smtp = Smtp::shared_or_own().await;
    let app = spawn_app(&[("SMTP_URL", &smtp.url()), ("THROTTLE_RESET_MAILS", "2")]).await;
    app.register("flooder", PASSWORD).await;
    let victim = unique_address("victim");
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(app.post_form("/api/change_email", &[("password", PASSWORD), ("email", &victim)]).await.status());
    }
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::OK, StatusCode::TOO_MANY_REQUESTS, StatusCode::TOO_MANY_REQUESTS]
    );
    smtp.wait_for(&victim, 2).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(smtp.messages_to(&victim).len(), 2);
}
