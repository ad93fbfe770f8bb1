//! Password reset: the same answer for every login, a single-use link to the verified
//! address only, and a reset that signs out every other session.

use crate::{helpers::*, mailbox::*};
use reqwest::{header, StatusCode};
use serde_json::json;

/// An account with a verified address, signed in on `app`.
pub(crate) async fn verified_account(app: &TestApp, smtp: &Smtp, name: &str) -> String {
    let email = unique_address(name);
    let response =
        app.post_form("/api/register", &[("username", name), ("password", PASSWORD), ("email", &email)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let link = smtp.wait_for(&email, 1).await[0].link("/verify-email").unwrap();
    assert_eq!(app.get(link.trim_start_matches(&app.base)).await.status(), StatusCode::OK);
    email
}

pub(crate) async fn forgot(client: &TestApp, login: &str) -> reqwest::Response {
    client.post_form("/api/forgot_password", &[("login", login)]).await
}

/// Every reset link in `email`'s mailbox, once it holds `count` messages, as paths on
/// the app (after checking each comes from the app's own origin).
pub(crate) async fn reset_links(app: &TestApp, smtp: &Smtp, email: &str, count: usize) -> Vec<String> {
    let mails = smtp.wait_for(email, count).await;
    let links: Vec<String> = mails.iter().filter_map(|m| m.link("/reset-password")).collect();
    for link in &links {
        assert!(link.starts_with(&format!("{}/reset-password?token=", app.base)), "{link}");
    }
    links.iter().map(|l| l.trim_start_matches(&app.base).to_string()).collect()
}

/// The one reset link, when there is exactly one.
pub(crate) async fn reset_link(app: &TestApp, smtp: &Smtp, email: &str, count: usize) -> String {
    let links = reset_links(app, smtp, email, count).await;
    assert_eq!(links.len(), 1, "{links:?}");
    links[0].clone()
}

pub(crate) fn token_of(path: &str) -> String {
    path.split("token=").nth(1).unwrap().to_string()
}

#[tokio::test]
async fn known_and_unknown_logins_get_the_same_answer_and_only_a_verified_address_a_link() {
    let smtp = Smtp::shared_or_own().await;
    let app = spawn_app(&[("SMTP_URL", &smtp.url())]).await;
    let verified = verified_account(&app, &smtp, "known").await;
    let unverified = unique_address("unverified");
    app.forget_cookies();
    app.post_form("/api/register", &[("username", "halfway"), ("password", PASSWORD), ("email", &unverified)]).await;
    smtp.wait_for(&unverified, 1).await; // its verification mail, not followed
    app.forget_cookies();

    let mut answers = Vec::new();
    for login in ["known", verified.as_str(), "halfway", unverified.as_str(), "nobody", "nobody@example.org"] {
        let response = forgot(&app, login).await;
        answers.push((response.status(), response.text().await.unwrap()));
    }
    assert!(answers.iter().all(|a| *a == answers[0]), "one answer for all: {answers:?}");
    assert_eq!(answers[0].0, StatusCode::OK);

    smtp.wait_for(&verified, 3).await; // verification + two reset links
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let to_unverified = smtp.messages_to(&unverified);
    assert_eq!(to_unverified.len(), 1, "an unverified address gets no reset link");
    assert!(to_unverified[0].link("/reset-password").is_none());
}

#[tokio::test]
async fn a_reset_sets_the_password_signs_this_browser_in_and_every_other_session_out() {
    let smtp = Smtp::shared_or_own().await;
    let app = spawn_app(&[("SMTP_URL", &smtp.url())]).await;
    let email = verified_account(&app, &smtp, "forgetful").await;
    let elsewhere = app.another_client("127.0.0.8");
    assert_eq!(elsewhere.login("forgetful", PASSWORD).await.status(), StatusCode::OK);
    let stale_refresh = elsewhere.cookie("jwt_refresh").unwrap();

    let browser = app.another_client("127.0.0.9");
    assert_eq!(forgot(&browser, "forgetful").await.status(), StatusCode::OK);
    let path = reset_link(&app, &smtp, &email, 2).await;
    let page = browser.get(&path).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains(r#"name="new_password""#), "the form");

    let response = browser
        .post_form("/api/reset_password", &[("token", &token_of(&path)), ("new_password", "a fresh secret")])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookies = set_cookies(&response);
    assert!(cookie_named(&cookies, "jwt_access").is_some() && cookie_named(&cookies, "jwt_refresh").is_some());
    let user: serde_json::Value = response.json().await.unwrap();
    assert_eq!(user.as_object().unwrap().len(), 2);
    assert_eq!(user["username"], "forgetful");
    assert_eq!(browser.current_user().await["username"], "forgetful");

    // Every other session is over.
    elsewhere.forget_cookies();
    elsewhere.set_cookie("jwt_refresh", &stale_refresh);
    assert_eq!(elsewhere.current_user().await, json!(null));
    app.forget_cookies();
    assert_eq!(app.login("forgetful", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.login("forgetful", "a fresh secret").await.status(), StatusCode::OK);

    // The link was single-use, and the owner's mailbox hears of the reset.
    let again = browser
        .post_form("/api/reset_password", &[("token", &token_of(&path)), ("new_password", "another one!")])
        .await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert_eq!(again.json::<serde_json::Value>().await.unwrap()["code"], "invalid_token");
    let mails = smtp.wait_for(&email, 3).await;
    assert!(mails.iter().any(|m| m.header("Subject").unwrap_or_default().contains("was reset")));

    // `/sessions` says how the new session signed in.
    let sessions = browser.post_form("/api/sessions", &[]).await.json::<serde_json::Value>().await.unwrap();
    assert_eq!(sessions.as_array().unwrap().len(), 2, "this browser and the fresh sign-in: {sessions}");
}

#[tokio::test]
async fn expired_used_superseded_and_wrong_links_are_refused_in_words() {
    let smtp = Smtp::shared_or_own().await;
    let app = spawn_app(&[("SMTP_URL", &smtp.url()), ("RESET_TOKEN_LIFETIME", "2")]).await;
    let email = verified_account(&app, &smtp, "careful").await;

    forgot(&app, "careful").await;
    let older = reset_link(&app, &smtp, &email, 2).await;
    forgot(&app, "careful").await;
    let newer = reset_links(&app, &smtp, &email, 3).await.into_iter().find(|l| *l != older).unwrap();

    let page = app.get(&older).await;
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert!(page.text().await.unwrap().contains("newer link"), "superseded");
    let wrong = app.get("/reset-password?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert!(wrong.text().await.unwrap().contains("invalid"));

    outlive(2).await;
    let expired = app.get(&newer).await;
    assert_eq!(expired.status(), StatusCode::BAD_REQUEST);
    assert!(expired.text().await.unwrap().contains("expired"));
    let api =
        app.post_form("/api/reset_password", &[("token", &token_of(&newer)), ("new_password", "too late now")]).await;
    assert_eq!(api.status(), StatusCode::BAD_REQUEST);
    assert_eq!(api.json::<serde_json::Value>().await.unwrap()["code"], "invalid_token");
    app.forget_cookies();
    assert_eq!(app.login("careful", PASSWORD).await.status(), StatusCode::OK, "nothing changed");
}

#[tokio::test]
async fn a_broken_password_rule_keeps_the_link_and_a_password_change_kills_it() {
    let smtp = Smtp::shared_or_own().await;
    let app = spawn_app(&[("SMTP_URL", &smtp.url())]).await;
    let email = verified_account(&app, &smtp, "typo").await;
    forgot(&app, "typo").await;
    let link = reset_link(&app, &smtp, &email, 2).await;

    let short = app.post_form("/api/reset_password", &[("token", &token_of(&link)), ("new_password", "short")]).await;
    assert_eq!(short.status(), StatusCode::BAD_REQUEST);
    assert_eq!(short.json::<serde_json::Value>().await.unwrap()["field"], "new_password");
    assert_eq!(app.get(&link).await.status(), StatusCode::OK, "the link still works");

    let changed = app
        .post_form("/api/change_password", &[("current_password", PASSWORD), ("new_password", "changed my mind")])
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let page = app.get(&link).await;
    assert_eq!(page.status(), StatusCode::BAD_REQUEST, "a new password voids every reset link");
}

#[tokio::test]
async fn reset_requests_are_throttled_per_address_and_reset_mails_per_account() {
    let smtp = Smtp::shared_or_own().await;
    let app =
        spawn_app(&[("SMTP_URL", &smtp.url()), ("THROTTLE_RESET_REQUESTS", "3"), ("THROTTLE_RESET_MAILS", "2")]).await;
    let email = verified_account(&app, &smtp, "popular").await;

    // Per account: from three addresses, three answers alike, but two mails.
    for address in ["127.0.0.11", "127.0.0.12", "127.0.0.13"] {
        assert_eq!(forgot(&app.another_client(address), "popular").await.status(), StatusCode::OK);
    }
    smtp.wait_for(&email, 3).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let resets = smtp.messages_to(&email).iter().filter(|m| m.link("/reset-password").is_some()).count();
    assert_eq!(resets, 2);

    // Per address: the fourth request from one address is refused, whatever the login.
    let client = app.another_client("127.0.0.14");
    for login in ["a", "b", "c"] {
        assert_eq!(forgot(&client, login).await.status(), StatusCode::OK);
    }
    let throttled = forgot(&client, "d").await;
    assert_eq!(throttled.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = throttled.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!(wait > 0 && wait <= 3600, "{wait}");
    assert_eq!(forgot(&app.another_client("127.0.0.15"), "d").await.status(), StatusCode::OK, "others go on");
}

#[tokio::test]
async fn a_forged_host_never_reaches_a_link() {
    let smtp = Smtp::shared_or_own().await;
    let app = spawn_app(&[("SMTP_URL", &smtp.url())]).await;
    let email = verified_account(&app, &smtp, "hosted").await;
    let request = app
        .request(reqwest::Method::POST, "/api/forgot_password")
        .header(header::HOST, "evil.example")
        .header("X-Forwarded-Host", "evil.example")
        .form(&[("login", "hosted")]);
    assert_eq!(app.send(request).await.status(), StatusCode::OK);
    let link = reset_link(&app, &smtp, &email, 2).await;
    assert!(link.starts_with("/reset-password?token="), "{link}");
    for mail in smtp.messages_to(&email) {
        assert!(!mail.decoded.contains("evil.example"), "{}", mail.decoded);
    }

    // With PUBLIC_ORIGIN, links name it whatever the request says.
    let public = spawn_app(&[("SMTP_URL", &smtp.url()), ("PUBLIC_ORIGIN", "https://accounts.example.com")]).await;
    let email = unique_address("public");
    public.post_form("/api/register", &[("username", "public"), ("password", PASSWORD), ("email", &email)]).await;
    let link = smtp.wait_for(&email, 1).await[0].link("/verify-email").unwrap();
    assert!(link.starts_with("https://accounts.example.com/verify-email?token="), "{link}");
}

#[tokio::test]
async fn without_javascript_the_forms_answer_with_redirects() {
    let smtp = Smtp::shared_or_own().await;
    let app = spawn_app(&[("SMTP_URL", &smtp.url())]).await;
    let email = verified_account(&app, &smtp, "nojs").await;
    app.forget_cookies();
    let asked = app.post_html_form("/api/forgot_password", &[("login", "nojs")]).await;
    assert_eq!(asked.status(), StatusCode::SEE_OTHER);
    assert_eq!(asked.headers()[header::LOCATION], "/forgot-password?sent=1");
    let link = reset_link(&app, &smtp, &email, 2).await;
    let token = token_of(&link);

    let short = app.post_html_form("/api/reset_password", &[("token", &token), ("new_password", "short")]).await;
    assert_eq!(short.status(), StatusCode::SEE_OTHER);
    let back = short.headers()[header::LOCATION].to_str().unwrap().to_string();
    assert!(back.starts_with("/reset-password?token=") && back.contains("field=new_password"), "{back}");

    let done = app.post_html_form("/api/reset_password", &[("token", &token), ("new_password", "plain html")]).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(done.headers()[header::LOCATION], "/profile?reset=1");
    assert_eq!(app.current_user().await["username"], "nojs");
}

#[tokio::test]
async fn requests_sent_all_at_once_cannot_slip_past_the_mail_limit() {
    let smtp = Smtp::shared_or_own().await;
    let app =
        spawn_app(&[("SMTP_URL", &smtp.url()), ("THROTTLE_RESET_MAILS", "2"), ("THROTTLE_RESET_REQUESTS", "0")]).await;
    let email = verified_account(&app, &smtp, "burst").await;
    let requests: Vec<_> = (0..20)
        .map(|i| {
            let client = app.another_client(&format!("127.0.1.{i}"));
            tokio::spawn(async move { client.post_form("/api/forgot_password", &[("login", "burst")]).await.status() })
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap(), StatusCode::OK);
    }
    smtp.wait_for(&email, 3).await;
    tokio::time::sleep(std::time::Duration::from_millis(2000)).await;
    let resets = smtp.messages_to(&email).iter().filter(|m| m.link("/reset-password").is_some()).count();
    assert_eq!(resets, 2, "twenty at once, two mails");
}

#[tokio::test]
async fn a_new_address_retires_reset_links_sent_to_the_old_one() {
    let smtp = Smtp::shared_or_own().await;
    let app = spawn_app(&[("SMTP_URL", &smtp.url())]).await;
    let email = verified_account(&app, &smtp, "moved").await;
    forgot(&app, "moved").await;
    let link = reset_link(&app, &smtp, &email, 2).await;
    let changed =
        app.post_form("/api/change_email", &[("password", PASSWORD), ("email", &unique_address("new"))]).await;
    assert_eq!(changed.status(), StatusCode::OK);
    assert_eq!(app.get(&link).await.status(), StatusCode::BAD_REQUEST, "the old mailbox's link is dead");
}
