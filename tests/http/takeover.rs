//! The second factor holds: one failure budget per account for every secret it holds,
//! a code for every change that could hand the account to someone else, a reset that
//! still asks for the code, and the owner told of each change. Each test is an attack
//! that worked before these defences (the third security review).

use crate::{
    helpers::*,
    mailbox::*,
    reset::{forgot, token_of, verified_account},
    totp::{code, turn_on, with_totp},
};
use reqwest::StatusCode;
use serde_json::{json, Value};

// --- one budget per account -------------------------------------------------------------

#[tokio::test]
async fn the_right_password_does_not_wipe_the_count_of_wrong_codes() {
    // Before: "sign in, guess four codes, sign in again" never met a 429.
    let app = spawn_app(&[]).await;
    with_totp(&app, "guessable").await;
    let attacker = app.another_client("127.0.0.21");
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let first = attacker.login("guessable", PASSWORD).await.status();
        statuses.push(first);
        if first != StatusCode::OK {
            break;
        }
        for _ in 0..4 {
            statuses.push(attacker.post_form("/api/login_totp", &[("code", "123456")]).await.status());
        }
    }
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    let wrong_codes_answered = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    assert!(wrong_codes_answered <= 6, "at most the free failures are checked: {statuses:?}");
}

#[tokio::test]
async fn codes_sent_all_at_once_cannot_slip_past_the_budget() {
    let app = spawn_app(&[]).await;
    with_totp(&app, "burst").await;
    let attacker = app.another_client("127.0.0.22");
    attacker.login("burst", PASSWORD).await;
    let guesses = (0..40).map(|i| {
        let attacker = attacker.clone();
        async move { attacker.post_form("/api/login_totp", &[("code", &format!("{:06}", 100_000 + i))]).await.status() }
    });
    let statuses = futures_join_all(guesses).await;
    let checked = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
    assert!(checked <= 6, "{checked} codes were checked: {statuses:?}");
}

#[tokio::test]
async fn a_strangers_wrong_passwords_do_not_lock_the_owner_out_at_the_code_step() {
    // Before: the owner's right code, with the owner's device cookie, answered 429.
    let app = spawn_app(&[]).await;
    // The owner registered on this browser, which holds the account's device cookie.
    let (secret, _) = with_totp(&app, "besieged").await;
    app.post_form("/api/logout", &[]).await;
    assert!(app.cookie("latch_device").is_some(), "the owner's browser keeps its device cookie");

    let stranger = app.another_client("127.0.0.23");
    let mut refused = false;
    for _ in 0..30 {
        if stranger.login("besieged", "a wrong password").await.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = true;
            break;
        }
    }
    assert!(refused, "the stranger has spent the account's budget");

    assert_eq!(app.login("besieged", PASSWORD).await.json::<Value>().await.unwrap(), json!({"second_factor": "totp"}));
    let second = app.post_form("/api/login_totp", &[("code", &code(&secret, 30))]).await;
    assert_eq!(second.status(), StatusCode::OK, "the owner gets in");
    assert_eq!(app.current_user().await["username"], "besieged");
}

#[tokio::test]
async fn wrong_codes_confirming_a_change_share_the_budget_and_stop_a_recovery_code() {
    // Before: 60 wrong codes at 65 a second, then a recovery code accepted.
    let app = spawn_app(&[]).await;
    let (_, codes) = with_totp(&app, "confirming").await;
    let attempts: [(&str, Vec<(&str, &str)>); 3] = [
        ("/api/totp_disable", vec![("password", PASSWORD), ("code", "000000")]),
        ("/api/delete_account", vec![("password", PASSWORD), ("code", "000000")]),
        (
            "/api/change_password",
            vec![("current_password", PASSWORD), ("new_password", "another fine password"), ("code", "000000")],
        ),
    ];
    let mut statuses = Vec::new();
    for round in 0..4 {
        for (path, form) in &attempts {
            statuses.push((round, *path, app.post_form(path, form).await.status()));
        }
    }
    let refused: Vec<_> = statuses.iter().filter(|(_, _, s)| *s == StatusCode::TOO_MANY_REQUESTS).collect();
    assert!(!refused.is_empty(), "{statuses:?}");
    let checked = statuses.iter().filter(|(_, _, s)| *s == StatusCode::BAD_REQUEST).count();
    assert!(checked <= 6, "{statuses:?}");
    let recovery = app.post_form("/api/totp_disable", &[("password", PASSWORD), ("code", &codes[0])]).await;
    assert_eq!(recovery.status(), StatusCode::TOO_MANY_REQUESTS, "no code is tried while the budget is spent");
    assert_eq!(app.post_form("/api/account", &[]).await.json::<Value>().await.unwrap()["totp"], true);
}

#[tokio::test]
async fn a_right_password_and_code_after_failures_go_through_once_the_wait_is_over() {
    // A right secret must not start a wait of its own: the password step of a change
    // would otherwise block the code step of the same request, for ever.
    let app = spawn_app(&[("THROTTLE_ACCOUNT_FAILURES", "2")]).await;
    let (_, codes) = with_totp(&app, "fumbling").await;
    for _ in 0..2 {
        let wrong = app.post_form("/api/totp_disable", &[("password", PASSWORD), ("code", "000000")]).await;
        assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    }
    let waiting = app.post_form("/api/totp_disable", &[("password", PASSWORD), ("code", &codes[0])]).await;
    assert_eq!(waiting.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = waiting.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(wait * 1000 + 200)).await;
    let changed = app
        .post_form(
            "/api/change_password",
            &[("current_password", PASSWORD), ("new_password", "another fine password"), ("code", &codes[0])],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK, "the owner is through, the failures notwithstanding");
}

#[tokio::test]
async fn a_long_lived_session_keeps_its_owners_exemption() {
    // The device cookie lives as long as the session it came with: each refresh renews
    // it, so a stranger spending the account's budget cannot reach the owner's profile.
    let app = spawn_app(&[("ACCESS_TOKEN_LIFETIME", "1"), ("REFRESH_TOKEN_LIFETIME", "4")]).await;
    app.register("lasting", PASSWORD).await;
    let first_device = app.cookie("latch_device").unwrap();
    for _ in 0..2 {
        outlive(1).await;
        assert_eq!(app.current_user().await["username"], "lasting", "refreshed");
    }
    assert_ne!(app.cookie("latch_device").unwrap(), first_device, "renewed with the session");
    assert_eq!(claims(&app.cookie("latch_device").unwrap())["sid"], claims(&first_device)["sid"], "the same device");
    let stranger = app.another_client("127.0.0.26");
    for _ in 0..30 {
        if stranger.login("lasting", "a wrong password").await.status() == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
    }
    let changed = app.post_form("/api/change_email", &[("password", PASSWORD), ("email", "lasting@example.org")]).await;
    assert_eq!(changed.status(), StatusCode::OK);
}

// --- step-up -------------------------------------------------------------------------

#[tokio::test]
async fn changing_the_email_of_an_account_with_totp_needs_a_code() {
    // Before: the password alone moved the address, and a reset through it took the account.
    let smtp = Smtp::shared_or_own().await;
    let app = spawn_app(&[("SMTP_URL", &smtp.url())]).await;
    let (secret, _) = with_totp(&app, "stepup").await;
    let theirs = unique_address("theirs");
    let no_code = app.post_form("/api/change_email", &[("password", PASSWORD), ("email", &theirs)]).await;
    assert_eq!(no_code.status(), StatusCode::BAD_REQUEST);
    assert_eq!(no_code.json::<Value>().await.unwrap()["field"], "code");
    let wrong =
        app.post_form("/api/change_email", &[("password", PASSWORD), ("email", &theirs), ("code", "000000")]).await;
    assert_eq!(wrong.json::<Value>().await.unwrap()["field"], "code");
    assert_eq!(app.post_form("/api/account", &[]).await.json::<Value>().await.unwrap()["email"], Value::Null);

    let mine = unique_address("mine");
    let with_code = app
        .post_form("/api/change_email", &[("password", PASSWORD), ("email", &mine), ("code", &code(&secret, 30))])
        .await;
    assert_eq!(with_code.status(), StatusCode::OK);
    assert_eq!(app.post_form("/api/account", &[]).await.json::<Value>().await.unwrap()["email"], mine.as_str());
}

#[tokio::test]
async fn turning_totp_on_needs_the_password() {
    // Before: a borrowed session alone turned it on and kept the recovery codes.
    let app = spawn_app(&[]).await;
    app.register("borrowed", PASSWORD).await;
    let setup: Value = app.post_form("/api/totp_setup", &[]).await.json().await.unwrap();
    let secret = setup["secret"].as_str().unwrap();
    let no_password = app.post_form("/api/totp_enable", &[("code", &code(secret, 0))]).await;
    assert_eq!(no_password.status(), StatusCode::BAD_REQUEST);
    assert_eq!(no_password.json::<Value>().await.unwrap()["field"], "password");
    let wrong =
        app.post_form("/api/totp_enable", &[("code", &code(secret, 0)), ("password", "not the password")]).await;
    assert_eq!(wrong.json::<Value>().await.unwrap()["field"], "password");
    assert_eq!(app.post_form("/api/account", &[]).await.json::<Value>().await.unwrap()["totp"], false);
    let on = app.post_form("/api/totp_enable", &[("code", &code(secret, 0)), ("password", PASSWORD)]).await;
    assert_eq!(on.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_second_setup_keeps_the_pending_secret_unless_a_new_key_is_asked_for() {
    // Before: a second totp_setup silently replaced the secret the owner was scanning.
    let app = spawn_app(&[]).await;
    app.register("scanning", PASSWORD).await;
    let first: Value = app.post_form("/api/totp_setup", &[]).await.json().await.unwrap();
    let second: Value = app.post_form("/api/totp_setup", &[]).await.json().await.unwrap();
    assert_eq!(first["secret"], second["secret"]);
    let fresh: Value = app.post_form("/api/totp_setup", &[("new_key", "true")]).await.json().await.unwrap();
    assert_ne!(fresh["secret"], first["secret"], "asked for, a new key replaces it");
    let pending: Value = app.post_form("/api/totp_pending", &[]).await.json().await.unwrap();
    assert_eq!(pending["secret"], fresh["secret"]);
}

/// An account `name` with a verified address and TOTP on, and the reset link another
/// browser (at `address`) asked for.
struct ResetOfTotpAccount {
    _smtp: Smtp,
    browser: TestApp,
    secret: String,
    codes: Vec<String>,
    token: String,
}

async fn reset_of_totp_account(name: &str, address: &str) -> ResetOfTotpAccount {
    let smtp = Smtp::shared_or_own().await;
    let app = spawn_app(&[("SMTP_URL", &smtp.url())]).await;
    let email = verified_account(&app, &smtp, name).await;
    let (secret, codes) = turn_on(&app).await;
    let browser = app.another_client(address);
    assert_eq!(forgot(&browser, name).await.status(), StatusCode::OK);
    let mail = told(&smtp, &email, "Reset your Latch password").await;
    let token = token_of(&mail.link("/reset-password").unwrap());
    ResetOfTotpAccount { _smtp: smtp, browser, secret, codes, token }
}

#[tokio::test]
async fn a_reset_of_an_account_with_totp_asks_for_the_code_before_any_jwt_cookie() {
    // Before: following the reset link signed in with the new password alone.
    let ResetOfTotpAccount { browser, secret, token, .. } = reset_of_totp_account("resetting", "127.0.0.24").await;
    let reset =
        browser.post_form("/api/reset_password", &[("token", &token), ("new_password", "a brand new password")]).await;
    assert_eq!(reset.status(), StatusCode::OK);
    let cookies = set_cookies(&reset);
    assert!(cookie_named(&cookies, "jwt_access").is_none() && cookie_named(&cookies, "jwt_refresh").is_none());
    assert!(cookie_named(&cookies, "latch_mfa").is_some());
    assert_eq!(reset.json::<Value>().await.unwrap(), json!({"second_factor": "totp"}));
    assert_eq!(browser.current_user().await, Value::Null, "not signed in by the link alone");

    let second = browser.post_form("/api/login_totp", &[("code", &code(&secret, 30))]).await;
    assert_eq!(second.status(), StatusCode::OK);
    assert_eq!(browser.current_user().await["username"], "resetting");
    browser.forget_cookies();
    assert_eq!(
        browser.login("resetting", "a brand new password").await.json::<Value>().await.unwrap(),
        json!({"second_factor": "totp"}),
        "the new password is set"
    );
}

#[tokio::test]
async fn without_javascript_a_reset_of_an_account_with_totp_goes_on_to_the_code_page() {
    let ResetOfTotpAccount { browser, codes, token, .. } = reset_of_totp_account("plainreset", "127.0.0.25").await;
    let reset = browser
        .post_html_form("/api/reset_password", &[("token", &token), ("new_password", "a brand new password")])
        .await;
    assert_eq!(reset.status(), StatusCode::SEE_OTHER);
    assert_eq!(reset.headers()["location"], "/login/totp?next=%2Fprofile%3Freset%3D1");
    let done = browser.post_html_form("/api/login_totp", &[("code", &codes[0]), ("next", "/profile?reset=1")]).await;
    assert_eq!(done.headers()["location"], "/profile?reset=1");
    assert_eq!(browser.current_user().await["username"], "plainreset");
}

// --- the owner is told ----------------------------------------------------------------

/// Waits for a message to `email` whose subject contains `words`.
async fn told(smtp: &Smtp, email: &str, words: &str) -> Mail {
    for _ in 0..100 {
        if let Some(mail) =
            smtp.messages_to(email).into_iter().find(|m| m.header("Subject").unwrap_or_default().contains(words))
        {
            return mail;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let subjects: Vec<_> = smtp.messages_to(email).iter().filter_map(|m| m.header("Subject")).collect();
    panic!("no message about {words:?} to {email}; received: {subjects:?}");
}

#[tokio::test]
async fn the_owner_is_told_of_totp_on_and_off_a_new_password_and_recovery_codes_running_low() {
    // Before: none of these sent a word.
    let smtp = Smtp::shared_or_own().await;
    let app = spawn_app(&[("SMTP_URL", &smtp.url())]).await;
    let email = verified_account(&app, &smtp, "watchful").await;
    let (_, codes) = turn_on(&app).await;
    told(&smtp, &email, "Two-factor sign-in was turned on").await;

    for recovery in &codes[..7] {
        app.forget_cookies();
        app.login("watchful", PASSWORD).await;
        assert_eq!(app.post_form("/api/login_totp", &[("code", recovery)]).await.status(), StatusCode::OK);
    }
    let low = told(&smtp, &email, "recovery codes").await;
    assert!(low.decoded.contains("3 recovery codes"), "{}", low.decoded);

    let changed = app
        .post_form(
            "/api/change_password",
            &[("current_password", PASSWORD), ("new_password", "another fine password"), ("code", &codes[7])],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    told(&smtp, &email, "password was changed").await;

    let off = app.post_form("/api/totp_disable", &[("password", "another fine password"), ("code", &codes[8])]).await;
    assert_eq!(off.status(), StatusCode::OK);
    told(&smtp, &email, "Two-factor sign-in was turned off").await;
    for mail in smtp.messages_to(&email) {
        for secret in &codes {
            assert!(!mail.decoded.contains(secret.as_str()), "no code in a notice");
        }
    }
}
