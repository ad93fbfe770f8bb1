//! The second factor: TOTP set up and turned on with a first code, sign-in in two steps
//! behind `latch_mfa`, codes accepted once, recovery codes once each, throttling,
//! turning it off, and a code needed to delete the account.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The code an authenticator shows for `secret` at `offset` seconds from now.
pub fn code(secret: &str, offset: i64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_string()).to_bytes().unwrap();
    let totp = totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes, None, String::new()).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    totp.generate((now + offset) as u64)
}

/// Registers `name`, turns TOTP on; returns the secret and the recovery codes.
pub async fn with_totp(app: &TestApp, name: &str) -> (String, Vec<String>) {
    app.register(name, PASSWORD).await;
    turn_on(app).await
}

/// Turns TOTP on for the signed-in `app`'s account; returns the secret and the codes.
pub async fn turn_on(app: &TestApp) -> (String, Vec<String>) {
    let setup = app.post_form("/api/totp_setup", &[]).await;
    assert_eq!(setup.status(), StatusCode::OK);
    let setup: Value = setup.json().await.unwrap();
    let secret = setup["secret"].as_str().unwrap().to_string();
    let enabled = app.post_form("/api/totp_enable", &[("code", &code(&secret, 0)), ("password", PASSWORD)]).await;
    assert_eq!(enabled.status(), StatusCode::OK);
    let codes: Vec<String> = enabled.json::<Value>().await.unwrap()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    (secret, codes)
}

#[tokio::test]
async fn setting_up_shows_the_secret_and_a_first_correct_code_turns_it_on() {
    let app = spawn_app(&[]).await;
    app.register("careful", PASSWORD).await;
    let setup: Value = app.post_form("/api/totp_setup", &[]).await.json().await.unwrap();
    let secret = setup["secret"].as_str().unwrap();
    let uri = setup["uri"].as_str().unwrap();
    assert_eq!(setup.as_object().unwrap().len(), 2, "{setup}");
    assert!(
        uri.starts_with("otpauth://totp/") && uri.contains(&format!("secret={secret}")) && uri.contains("issuer=Latch")
    );
    assert_eq!(app.post_form("/api/account", &[]).await.json::<Value>().await.unwrap()["totp"], false, "not on yet");

    let wrong = app.post_form("/api/totp_enable", &[("code", "000000"), ("password", PASSWORD)]).await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert_eq!(wrong.json::<Value>().await.unwrap()["code"], "invalid_code");
    let enabled = app.post_form("/api/totp_enable", &[("code", &code(secret, 0)), ("password", PASSWORD)]).await;
    assert_eq!(enabled.status(), StatusCode::OK);
    let codes = enabled.json::<Value>().await.unwrap()["recovery_codes"].as_array().unwrap().len();
    assert_eq!(codes, 10);
    assert_eq!(app.post_form("/api/account", &[]).await.json::<Value>().await.unwrap()["totp"], true);
}

#[tokio::test]
async fn signing_in_takes_two_steps_and_no_jwt_cookie_comes_before_the_second() {
    let app = spawn_app(&[]).await;
    let (secret, _) = with_totp(&app, "twostep").await;
    app.forget_cookies();
    let first = app.login("twostep", PASSWORD).await;
    assert_eq!(first.status(), StatusCode::OK);
    let cookies = set_cookies(&first);
    assert!(cookie_named(&cookies, "jwt_access").is_none() && cookie_named(&cookies, "jwt_refresh").is_none());
    let mfa = cookie_named(&cookies, "latch_mfa").expect("latch_mfa");
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(mfa.has(attribute), "{}", mfa.raw);
    }
    assert!(mfa.max_age().is_some_and(|age| age > 0 && age <= 300), "{}", mfa.raw);
    assert_eq!(first.json::<Value>().await.unwrap(), json!({"second_factor": "totp"}));
    assert_eq!(app.current_user().await, json!(null), "not signed in yet");

    // The code that turned TOTP on is spent; the next step's is accepted, once.
    let next_code = code(&secret, 30);
    let second = app.post_form("/api/login_totp", &[("code", &next_code)]).await;
    assert_eq!(second.status(), StatusCode::OK);
    let cookies = set_cookies(&second);
    assert!(cookie_named(&cookies, "jwt_access").is_some() && cookie_named(&cookies, "jwt_refresh").is_some());
    assert_eq!(cookie_named(&cookies, "latch_mfa").and_then(|c| c.max_age()), Some(0), "latch_mfa cleared");
    assert_eq!(second.json::<Value>().await.unwrap()["username"], "twostep");
    let sessions = app.post_form("/api/sessions", &[]).await.json::<Value>().await.unwrap();
    let current = sessions.as_array().unwrap().iter().find(|s| s["current"] == true).unwrap().clone();
    assert_eq!(current["method"], "password+totp");

    app.forget_cookies();
    app.login("twostep", PASSWORD).await;
    let replay = app.post_form("/api/login_totp", &[("code", &next_code)]).await;
    assert_eq!(replay.status(), StatusCode::UNAUTHORIZED, "a code accepted once is refused, even inside its 30 s");
    assert_eq!(replay.json::<Value>().await.unwrap()["code"], "invalid_code");
}

#[tokio::test]
async fn recovery_codes_work_once_each() {
    let app = spawn_app(&[]).await;
    let (_, codes) = with_totp(&app, "recover").await;
    for recovery in &codes[..2] {
        app.forget_cookies();
        app.login("recover", PASSWORD).await;
        assert_eq!(app.post_form("/api/login_totp", &[("code", recovery)]).await.status(), StatusCode::OK);
    }
    app.forget_cookies();
    app.login("recover", PASSWORD).await;
    let reused = app.post_form("/api/login_totp", &[("code", &codes[0])]).await;
    assert_eq!(reused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.post_form("/api/login_totp", &[("code", &codes[2].to_uppercase())]).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_missing_or_forged_mfa_cookie_is_a_401_and_a_genuine_one_works_once() {
    let app = spawn_app(&[]).await;
    let (_, codes) = with_totp(&app, "pending").await;
    app.forget_cookies();
    assert_eq!(app.post_form("/api/login_totp", &[("code", &codes[0])]).await.status(), StatusCode::UNAUTHORIZED);
    app.login("pending", PASSWORD).await;
    let genuine = app.cookie("latch_mfa").unwrap();
    app.set_cookie("latch_mfa", &format!("{genuine}x"));
    assert_eq!(app.post_form("/api/login_totp", &[("code", &codes[0])]).await.status(), StatusCode::UNAUTHORIZED);
    // Claims moved five minutes back, without the key to sign them: refused.
    let mut claims = claims(&genuine);
    claims["iat"] = json!(claims["iat"].as_i64().unwrap() - 400);
    claims["exp"] = json!(claims["exp"].as_i64().unwrap() - 400);
    let forged = format!("{}.{}.x", genuine.split('.').next().unwrap(), {
        use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
        URL_SAFE_NO_PAD.encode(claims.to_string())
    });
    app.set_cookie("latch_mfa", &forged);
    assert_eq!(app.post_form("/api/login_totp", &[("code", &codes[0])]).await.status(), StatusCode::UNAUTHORIZED);
    // The genuine one still works, once.
    app.set_cookie("latch_mfa", &genuine);
    assert_eq!(app.post_form("/api/login_totp", &[("code", &codes[0])]).await.status(), StatusCode::OK);
    app.forget_cookies();
    app.set_cookie("latch_mfa", &genuine);
    assert_eq!(
        app.post_form("/api/login_totp", &[("code", &codes[1])]).await.status(),
        StatusCode::UNAUTHORIZED,
        "single use"
    );
}

#[tokio::test]
async fn wrong_codes_are_throttled_like_passwords() {
    let app = spawn_app(&[]).await;
    with_totp(&app, "guessed").await;
    app.forget_cookies();
    app.login("guessed", PASSWORD).await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(app.post_form("/api/login_totp", &[("code", "123456")]).await.status());
    }
    assert!(statuses[..5].iter().all(|s| *s == StatusCode::UNAUTHORIZED), "{statuses:?}");
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
}

#[tokio::test]
async fn turning_it_off_needs_the_password_and_a_code_and_so_does_deleting_the_account() {
    let app = spawn_app(&[]).await;
    let (_, codes) = with_totp(&app, "leaving").await;
    let no_code = app.post_form("/api/delete_account", &[("password", PASSWORD)]).await;
    assert_eq!(no_code.status(), StatusCode::BAD_REQUEST);
    assert_eq!(no_code.json::<Value>().await.unwrap()["field"], "code");
    let wrong_password =
        app.post_form("/api/totp_disable", &[("password", "not it at all"), ("code", &codes[0])]).await;
    assert_eq!(wrong_password.json::<Value>().await.unwrap()["field"], "password");
    let wrong_code = app.post_form("/api/totp_disable", &[("password", PASSWORD), ("code", "000000")]).await;
    assert_eq!(wrong_code.status(), StatusCode::BAD_REQUEST);
    assert_eq!(wrong_code.json::<Value>().await.unwrap()["field"], "code");
    let off = app.post_form("/api/totp_disable", &[("password", PASSWORD), ("code", &codes[0])]).await;
    assert_eq!(off.status(), StatusCode::OK);
    app.forget_cookies();
    let signed_in = app.login("leaving", PASSWORD).await;
    assert_eq!(signed_in.json::<Value>().await.unwrap()["username"], "leaving", "one step again");
    assert_eq!(app.post_form("/api/delete_account", &[("password", PASSWORD)]).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn without_javascript_the_password_step_leads_to_the_code_page_keeping_next() {
    let app = spawn_app(&[]).await;
    let (_, codes) = with_totp(&app, "plainform").await;
    app.forget_cookies();
    let first = app
        .post_html_form("/api/login", &[("username", "plainform"), ("password", PASSWORD), ("next", "/sessions")])
        .await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert_eq!(first.headers()["location"], "/login/totp?next=%2Fsessions");
    let page = app.get("/login/totp?next=%2Fsessions").await.text().await.unwrap();
    assert!(page.contains(r#"name="code""#));
    let wrong = app.post_html_form("/api/login_totp", &[("code", "000000"), ("next", "/sessions")]).await;
    assert_eq!(wrong.headers()["location"], "/login/totp?next=%2Fsessions&error=invalid_code&field=code");
    let done = app.post_html_form("/api/login_totp", &[("code", &codes[0]), ("next", "/sessions")]).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(done.headers()["location"], "/sessions");
    assert_eq!(app.current_user().await["username"], "plainform");
}
