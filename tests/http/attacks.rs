//! The adversarial suite: one test per attack, named for it (RFC 8725, RFC 9700 §4.14,
//! OWASP ASVS, and what went wrong in systems like Latch). Tokens are forged with the
//! server's real key where the attack assumes the attacker could sign, and without it
//! where it assumes they could not.

use crate::helpers::*;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use reqwest::StatusCode;
use serde_json::{json, Value};

const SECRET: &str = "adversarial-suite-secret-0123456789abcdef";

async fn target() -> (TestApp, String, String) {
    let app = spawn_app(&[("JWT_SECRET", SECRET)]).await;
    app.register("target", PASSWORD).await;
    let (access, refresh) = (app.cookie("jwt_access").unwrap(), app.cookie("jwt_refresh").unwrap());
    (app, access, refresh)
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// Re-signs `token`'s claims, changed by `edit`, under `header`, with `secret`.
fn resign(token: &str, header: Value, secret: &[u8], edit: impl FnOnce(&mut Value)) -> String {
    let mut c = claims(token);
    edit(&mut c);
    let mut h: jsonwebtoken::Header = serde_json::from_value(header).unwrap();
    h.alg = jsonwebtoken::Algorithm::HS256;
    jsonwebtoken::encode(&h, &c, &jsonwebtoken::EncodingKey::from_secret(secret)).unwrap()
}

/// The server's own header for `token`, with `extra` fields added.
fn header_plus(token: &str, extra: Value) -> Value {
    let mut h = header_of(token);
    for (k, v) in extra.as_object().unwrap() {
        h[k] = v.clone();
    }
    h
}

/// Sends the cookies and asserts what the contract promises for a bad token: served
/// anonymous, both cookies cleared, never a 5xx.
async fn refused(app: &TestApp, access: Option<&str>, refresh: Option<&str>) {
    app.forget_cookies();
    if let Some(a) = access {
        app.set_cookie("jwt_access", a);
    }
    if let Some(r) = refresh {
        app.set_cookie("jwt_refresh", r);
    }
    let response = app.post_form("/api/current_user", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cleared = set_cookies(&response);
    for name in ["jwt_access", "jwt_refresh"] {
        assert_eq!(cookie_named(&cleared, name).and_then(|c| c.max_age()), Some(0), "{name} cleared");
    }
    assert_eq!(response.json::<Value>().await.unwrap(), json!(null), "anonymous");
}

// --- forged and altered tokens ----------------------------------------------------------

#[tokio::test]
async fn alg_none_access_token() {
    let (app, access, _) = target().await;
    let parts: Vec<&str> = access.split('.').collect();
    let forged = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), parts[1]);
    refused(&app, Some(&forged), None).await;
}

#[tokio::test]
async fn alg_none_refresh_token() {
    let (app, _, refresh) = target().await;
    let parts: Vec<&str> = refresh.split('.').collect();
    let forged = format!("{}.{}.", b64(&json!({"alg": "none"})), parts[1]);
    refused(&app, None, Some(&forged)).await;
}

#[tokio::test]
async fn hs_rs_confusion_rs256_header_with_an_hmac_signature() {
    let (app, access, _) = target().await;
    let parts: Vec<&str> = access.split('.').collect();
    let header = b64(&header_plus(&access, json!({"alg": "RS256"})));
    refused(&app, Some(&format!("{header}.{}.{}", parts[1], parts[2])), None).await;
}

#[tokio::test]
async fn another_hmac_strength_hs512_with_the_right_key() {
    let (app, access, _) = target().await;
    let mut h: jsonwebtoken::Header = serde_json::from_value(header_of(&access)).unwrap();
    h.alg = jsonwebtoken::Algorithm::HS512;
    let forged =
        jsonwebtoken::encode(&h, &claims(&access), &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes())).unwrap();
    refused(&app, Some(&forged), None).await;
}

#[tokio::test]
async fn tampered_payload_with_the_old_signature() {
    let (app, access, _) = target().await;
    let parts: Vec<&str> = access.split('.').collect();
    let mut c = claims(&access);
    c["name"] = json!("admin");
    refused(&app, Some(&format!("{}.{}.{}", parts[0], b64(&c), parts[2])), None).await;
}

#[tokio::test]
async fn tampered_subject_with_the_old_signature() {
    let (app, access, _) = target().await;
    let parts: Vec<&str> = access.split('.').collect();
    let mut c = claims(&access);
    c["sub"] = json!("00000000-0000-0000-0000-000000000000");
    refused(&app, Some(&format!("{}.{}.{}", parts[0], b64(&c), parts[2])), None).await;
}

#[tokio::test]
async fn signature_stripped() {
    let (app, access, _) = target().await;
    let unsigned = access.rsplit_once('.').unwrap().0.to_string() + ".";
    refused(&app, Some(&unsigned), None).await;
}

#[tokio::test]
async fn signed_with_a_guessed_weak_secret() {
    let (app, access, _) = target().await;
    let forged = resign(&access, header_of(&access), b"secret", |_| {});
    refused(&app, Some(&forged), None).await;
}

#[tokio::test]
async fn forged_kid_pointing_at_another_key() {
    let (app, access, _) = target().await;
    let forged = resign(&access, header_plus(&access, json!({"kid": "../../dev/null"})), SECRET.as_bytes(), |_| {});
    refused(&app, Some(&forged), None).await;
}

#[tokio::test]
async fn jku_header_pointing_at_an_attacker_key_set() {
    let (app, access, _) = target().await;
    let h = header_plus(&access, json!({"jku": "https://evil.example/jwks.json"}));
    refused(&app, Some(&resign(&access, h, SECRET.as_bytes(), |_| {})), None).await;
}

#[tokio::test]
async fn x5u_header_pointing_at_an_attacker_certificate() {
    let (app, access, _) = target().await;
    let h = header_plus(&access, json!({"x5u": "https://evil.example/cert.pem"}));
    refused(&app, Some(&resign(&access, h, SECRET.as_bytes(), |_| {})), None).await;
}

#[tokio::test]
async fn embedded_jwk_header() {
    let (app, access, _) = target().await;
    let h = header_plus(&access, json!({"jwk": {"kty": "oct", "k": URL_SAFE_NO_PAD.encode("attacker")}}));
    refused(&app, Some(&resign(&access, h, SECRET.as_bytes(), |_| {})), None).await;
}

#[tokio::test]
async fn wrong_issuer() {
    let (app, access, _) = target().await;
    refused(&app, Some(&resign(&access, header_of(&access), SECRET.as_bytes(), |c| c["iss"] = json!("evil"))), None)
        .await;
}

#[tokio::test]
async fn wrong_audience() {
    let (app, access, _) = target().await;
    refused(&app, Some(&resign(&access, header_of(&access), SECRET.as_bytes(), |c| c["aud"] = json!("other"))), None)
        .await;
}

#[tokio::test]
async fn future_nbf() {
    let (app, access, _) = target().await;
    let forged = resign(&access, header_of(&access), SECRET.as_bytes(), |c| {
        c["nbf"] = json!(c["iat"].as_i64().unwrap() + 3600);
    });
    refused(&app, Some(&forged), None).await;
}

#[tokio::test]
async fn access_token_expired_by_one_second() {
    let (app, access, _) = target().await;
    let forged = resign(&access, header_of(&access), SECRET.as_bytes(), |c| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        c["iat"] = json!(now - 301);
        c["exp"] = json!(now - 1);
    });
    refused(&app, Some(&forged), None).await;
}

#[tokio::test]
async fn refresh_token_expired_by_one_second() {
    let (app, _, refresh) = target().await;
    let forged = resign(&refresh, header_of(&refresh), SECRET.as_bytes(), |c| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        c["iat"] = json!(now - 604_801);
        c["exp"] = json!(now - 1);
    });
    refused(&app, None, Some(&forged)).await;
}

#[tokio::test]
async fn lifetime_extended_by_whoever_holds_the_key_still_needs_a_live_session() {
    let (app, _, refresh) = target().await;
    app.post_form("/api/logout", &[]).await;
    let forged = resign(&refresh, header_of(&refresh), SECRET.as_bytes(), |c| {
        c["exp"] = json!(c["exp"].as_i64().unwrap() + 10 * 365 * 86_400);
    });
    refused(&app, None, Some(&forged)).await;
}

#[tokio::test]
async fn refresh_token_presented_as_access_token() {
    let (app, _, refresh) = target().await;
    refused(&app, Some(&refresh), None).await;
}

#[tokio::test]
async fn access_token_presented_as_refresh_token() {
    let (app, access, _) = target().await;
    refused(&app, None, Some(&access)).await;
}

#[tokio::test]
async fn token_from_another_deployment() {
    let theirs = spawn_app(&[("JWT_SECRET", "another-deployment-another-secret-000")]).await;
    theirs.register("target", PASSWORD).await;
    let (app, _, _) = target().await;
    refused(&app, Some(&theirs.cookie("jwt_access").unwrap()), Some(&theirs.cookie("jwt_refresh").unwrap())).await;
}

// --- replay --------------------------------------------------------------------------

#[tokio::test]
async fn refresh_replay_after_logout() {
    let (app, _, refresh) = target().await;
    app.post_form("/api/logout", &[]).await;
    refused(&app, None, Some(&refresh)).await;
}

#[tokio::test]
async fn refresh_replay_after_password_change() {
    let (app, _, refresh) = target().await;
    let other = app.another_client("127.0.0.11");
    other.login("target", PASSWORD).await;
    other
        .post_form("/api/change_password", &[("current_password", PASSWORD), ("new_password", "new password 1")])
        .await;
    refused(&app, None, Some(&refresh)).await;
}

#[tokio::test]
async fn refresh_reuse_after_the_grace_window_revokes_the_whole_session() {
    let app = spawn_app(&[("ACCESS_TOKEN_LIFETIME", "1"), ("REFRESH_REUSE_GRACE", "1")]).await;
    app.register("target", PASSWORD).await;
    let stolen = app.cookie("jwt_refresh").unwrap();
    outlive(1).await;
    app.current_user().await; // the owner rotates
    let owners = app.cookie("jwt_refresh").unwrap();
    outlive(1).await;
    refused(&app, None, Some(&stolen)).await;
    app.forget_cookies();
    app.set_cookie("jwt_refresh", &owners);
    assert_eq!(app.current_user().await, json!(null), "the owner's newer token died with the session");
    // The owner signs in again and sees what happened.
    app.login("target", PASSWORD).await;
    let events: Vec<Value> = app.post_form("/api/events", &[]).await.json().await.unwrap();
    assert!(events.iter().any(|e| e["event"] == "reuse_detected"), "{events:?}");
}

#[tokio::test]
async fn parallel_refresh_race_rotates_once_and_logs_nobody_out() {
    let app = spawn_app(&[("ACCESS_TOKEN_LIFETIME", "1")]).await;
    app.register("target", PASSWORD).await;
    let refresh = app.cookie("jwt_refresh").unwrap();
    outlive(1).await;
    let racers: Vec<_> = (0..6)
        .map(|_| {
            let request = app
                .http
                .post(format!("{}/api/current_user", app.base))
                .header("cookie", format!("jwt_refresh={refresh}"));
            tokio::spawn(async move {
                let response = request.send().await.unwrap();
                let jti = cookie_named(&set_cookies(&response), "jwt_refresh").map(|c| claims(&c.value)["jti"].clone());
                (response.json::<Value>().await.unwrap(), jti)
            })
        })
        .collect();
    let mut jtis = std::collections::BTreeSet::new();
    for racer in racers {
        let (user, jti) = racer.await.unwrap();
        assert_eq!(user["username"], "target");
        jtis.insert(jti.expect("a refresh cookie").to_string());
    }
    assert_eq!(jtis.len(), 1);
}

// --- cross-site requests ---------------------------------------------------------------

async fn cross_site_post(path: &str, origin_headers: &[(&str, &str)]) {
    let (app, _, _) = target().await;
    let mut request = app.request(reqwest::Method::POST, path).form(&[("username", "x"), ("password", "y")]);
    for (k, v) in origin_headers {
        request = request.header(*k, *v);
    }
    let response = app.send(request).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path} {origin_headers:?}");
    assert!(set_cookies(&response).is_empty(), "no work done, no cookie touched");
}

#[tokio::test]
async fn cross_origin_post_to_register() {
    cross_site_post("/api/register", &[("origin", "https://evil.example")]).await;
}

#[tokio::test]
async fn cross_origin_post_to_login_login_csrf() {
    cross_site_post("/api/login", &[("origin", "https://evil.example")]).await;
}

#[tokio::test]
async fn cross_origin_post_to_logout() {
    cross_site_post("/api/logout", &[("origin", "https://evil.example")]).await;
}

#[tokio::test]
async fn cross_origin_post_to_change_password() {
    cross_site_post("/api/change_password", &[("origin", "https://evil.example")]).await;
}

#[tokio::test]
async fn cross_origin_post_to_current_user_sessions_and_events() {
    for path in ["/api/current_user", "/api/sessions", "/api/events"] {
        cross_site_post(path, &[("origin", "null")]).await;
    }
}

#[tokio::test]
async fn cross_site_post_known_only_by_sec_fetch_site() {
    cross_site_post("/api/logout", &[("sec-fetch-site", "cross-site")]).await;
}

#[tokio::test]
async fn cross_site_post_known_only_by_referer() {
    cross_site_post("/api/logout", &[("referer", "https://evil.example/page")]).await;
}

#[tokio::test]
async fn state_changing_function_called_with_get() {
    let (app, _, _) = target().await;
    let response = app.get("/api/logout").await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(set_cookies(&response).is_empty());
    assert_eq!(app.current_user().await["username"], "target", "still signed in");
}

// --- redirects ---------------------------------------------------------------------------

async fn next_stays_on_site(next: &str) {
    let (app, _, _) = target().await;
    let response =
        app.post_html_form("/api/login", &[("username", "target"), ("password", PASSWORD), ("next", next)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/", "{next}");
}

#[tokio::test]
async fn open_redirect_protocol_relative_next() {
    next_stays_on_site("//evil.example").await;
}

#[tokio::test]
async fn open_redirect_backslash_next() {
    next_stays_on_site("/\\evil.example").await;
}

#[tokio::test]
async fn open_redirect_absolute_next() {
    next_stays_on_site("https://evil.example/").await;
}

#[tokio::test]
async fn open_redirect_off_site_referer_on_a_plain_form_post() {
    let (app, _, _) = target().await;
    let response = app
        .send(
            app.request(reqwest::Method::POST, "/api/logout")
                .header("accept", "text/html")
                .header("origin", app.base.clone())
                .header("referer", "https://evil.example/"),
        )
        .await;
    let location = response.headers().get("location").map(|l| l.to_str().unwrap().to_string());
    assert!(location.as_deref().is_some_and(|l| l.starts_with('/') && !l.starts_with("//")), "{location:?}");
}

// --- credentials -------------------------------------------------------------------------

#[tokio::test]
async fn user_enumeration_by_status_or_body() {
    let (app, _, _) = target().await;
    let wrong = app.another_client("127.0.0.12").login("target", "not it at all").await;
    let (s1, b1) = (wrong.status(), wrong.text().await.unwrap());
    let unknown = app.another_client("127.0.0.13").login("nobody_here", "not it at all").await;
    let (s2, b2) = (unknown.status(), unknown.text().await.unwrap());
    assert_eq!((s1, b1), (s2, b2));
}

#[tokio::test]
async fn credential_stuffing_is_throttled_with_retry_after() {
    let (app, _, _) = target().await;
    let stuffer = app.another_client("127.0.0.14");
    let mut throttled = None;
    for i in 0..12 {
        let response = stuffer.login("target", &format!("guess number {i}")).await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            throttled = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
            break;
        }
    }
    assert!(throttled.is_some(), "429 with Retry-After");
}

#[tokio::test]
async fn session_fixation_preset_cookies_are_replaced_at_login() {
    let (app, access, refresh) = target().await;
    let fixed_sid = claims(&refresh)["sid"].clone();
    // The attacker plants their own (valid) cookies in the victim's browser...
    let victim = app.another_client("127.0.0.1");
    victim.set_cookie("jwt_access", &access);
    victim.set_cookie("jwt_refresh", &refresh);
    victim.register("victim", PASSWORD).await;
    // ...and the victim's sign-in gets a session of its own.
    assert_ne!(claims(&victim.cookie("jwt_refresh").unwrap())["sid"], fixed_sid);
    assert_eq!(victim.current_user().await["username"], "victim");
}

#[tokio::test]
async fn sql_metacharacters_in_the_username() {
    let (app, _, _) = target().await;
    for name in ["a'--", "x\" OR 1=1", "robert'); DROP TABLE users;--"] {
        let response = app.another_client("127.0.0.15").login(name, PASSWORD).await;
        assert!(matches!(response.status(), StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS));
    }
    app.forget_cookies();
    assert_eq!(app.login("target", PASSWORD).await.status(), StatusCode::OK, "users is intact");
}

#[tokio::test]
async fn unicode_confusables_in_the_username() {
    let (app, _, _) = target().await;
    // Full-width letters are the same account (NFKC); Cyrillic look-alikes are not.
    assert_eq!(app.register("ｔａｒｇｅｔ", PASSWORD).await.status(), StatusCode::CONFLICT);
    app.forget_cookies();
    assert_eq!(app.register("t\u{0430}rget", PASSWORD).await.status(), StatusCode::OK);
}

// --- sizes and garbage ----------------------------------------------------------------------

#[tokio::test]
async fn oversized_body() {
    let (app, _, _) = target().await;
    let response = app.post_form("/api/login", &[("username", "target"), ("password", &"p".repeat(200_000))]).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn oversized_headers() {
    let (app, _, _) = target().await;
    let mut request = app.request(reqwest::Method::GET, "/");
    for i in 0..40 {
        request = request.header(format!("x-padding-{i}"), "p".repeat(1000));
    }
    let status = app.send(request).await.status();
    assert!(status.is_client_error(), "{status}");
}

#[tokio::test]
async fn oversized_cookie() {
    let (app, _, _) = target().await;
    app.set_cookie("jwt_access", &"x".repeat(10_000));
    let status = app.send(app.request(reqwest::Method::GET, "/")).await.status();
    assert_eq!(status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
}

#[tokio::test]
async fn token_just_over_four_kilobytes() {
    let (app, access, _) = target().await;
    let padded = resign(&access, header_of(&access), SECRET.as_bytes(), |c| c["pad"] = json!("p".repeat(4200)));
    refused(&app, Some(&padded), None).await;
}

#[tokio::test]
async fn garbage_and_non_ascii_cookie_values() {
    let (app, _, _) = target().await;
    for junk in ["garbage", "a.b.c", "...", "%00%ff", "%E2%98%83.%E2%98%83.%E2%98%83", "ünïcödé"] {
        refused(&app, Some(junk), Some(junk)).await;
    }
}

#[tokio::test]
async fn empty_cookie_values() {
    let (app, _, _) = target().await;
    refused(&app, Some(""), Some("")).await;
}

#[tokio::test]
async fn protected_page_path_tricks() {
    let (app, _, _) = target().await;
    app.forget_cookies();
    for path in ["/profile", "//profile", "/profile/", "/PROFILE", "/sessions//"] {
        let response = app.get(path).await;
        let status = response.status();
        assert!(status == StatusCode::SEE_OTHER || status == StatusCode::NOT_FOUND, "{path}: {status}");
        if status == StatusCode::NOT_FOUND {
            assert!(!response.text().await.unwrap().contains("profile-username"));
        }
    }
}

#[tokio::test]
async fn behind_a_proxy_the_public_origin_is_the_site() {
    let app = spawn_app(&[("PUBLIC_ORIGIN", "https://app.example.com")]).await;
    let post = |origin: &'static str| {
        app.request(reqwest::Method::POST, "/api/register")
            .header("origin", origin)
            .form(&[("username", "proxied"), ("password", PASSWORD)])
    };
    // The proxy's Host is 127.0.0.1:port; the browser's Origin is the public one.
    assert_eq!(app.send(post("https://app.example.com")).await.status(), StatusCode::OK);
    app.forget_cookies();
    assert_eq!(app.send(post("https://evil.example")).await.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn both_cookies_together_stay_well_under_four_kilobytes() {
    let app = spawn_app(&[]).await;
    let response = app.register(&"u".repeat(32), &"p".repeat(1024)).await;
    let total: usize = set_cookies(&response).iter().map(|c| c.raw.len()).sum();
    assert!(total < 2048, "{total} bytes of Set-Cookie for the longest username");
}

// --- the second review of the release build --------------------------------------------

#[tokio::test]
async fn shared_caches_never_store_signed_in_pages_or_token_cookies() {
    let (app, _, refresh) = target().await;
    let client = app.another_client("127.0.0.40");
    client.set_cookie("jwt_refresh", &refresh);
    let page = client.get("/sessions").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(cookie_named(&set_cookies(&page), "jwt_access").is_some(), "a refresh on the way");
    assert_eq!(page.headers().get("cache-control").map(|v| v.to_str().unwrap()), Some("no-store"));
    let anonymous = app.another_client("127.0.0.41");
    for response in [
        anonymous.get("/").await,
        anonymous.get("/login").await,
        anonymous.get("/no/such/page").await,
        app.login("target", PASSWORD).await,
        app.post_form("/api/current_user", &[]).await,
    ] {
        let url = response.url().to_string();
        assert_eq!(response.headers().get("cache-control").map(|v| v.to_str().unwrap()), Some("no-store"), "{url}");
    }
    let jwks = anonymous.get("/.well-known/jwks.json").await;
    assert_eq!(jwks.headers()["cache-control"], "public, max-age=15", "public keys keep their short caching");
}

#[tokio::test]
async fn guessing_the_current_password_with_a_borrowed_session_is_throttled_and_audited() {
    let (app, _, _) = target().await;
    let mut statuses = Vec::new();
    for i in 0..12 {
        let form = [("current_password", format!("guess number {i}")), ("new_password", "whatever it is".into())];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        statuses.push(app.post_form("/api/change_password", &form).await.status());
    }
    assert!(statuses[..5].iter().all(|s| *s == StatusCode::BAD_REQUEST), "{statuses:?}");
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
    let events = app.post_form("/api/events", &[]).await.json::<Value>().await.unwrap();
    let count = |name: &str| events.as_array().unwrap().iter().filter(|e| e["event"] == name).count();
    let wrong = statuses.iter().filter(|s| **s == StatusCode::BAD_REQUEST).count();
    assert_eq!(count("password_check_failed"), wrong, "each wrong guess audited: {events}");
    assert!(count("throttled") >= 1, "{events}");
}

#[tokio::test]
async fn the_throttle_does_not_tell_which_usernames_exist() {
    let app = spawn_app(&[]).await;
    let usual = app.another_client("127.0.0.42");
    usual.register("known", PASSWORD).await; // this address is where "known" signs in
    usual.forget_cookies();
    let mut for_known = Vec::new();
    let mut for_nobody = Vec::new();
    for _ in 0..7 {
        for_known.push(usual.login("known", "wrong password").await.status());
    }
    let elsewhere = app.another_client("127.0.0.43");
    for _ in 0..7 {
        for_nobody.push(elsewhere.login("nobody", "wrong password").await.status());
    }
    // Alike: five free failures each, then refused (the first back-off lasts at least a
    // whole second, longer than the next attempt takes to arrive).
    for statuses in [&for_known, &for_nobody] {
        assert_eq!(statuses[..5], [StatusCode::UNAUTHORIZED; 5], "{for_known:?} {for_nobody:?}");
        assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS, "{for_known:?} {for_nobody:?}");
    }
}

#[tokio::test]
async fn a_neighbour_on_the_same_address_cannot_lock_the_owner_out() {
    let app = spawn_app(&[]).await;
    let owner = app.another_client("127.0.0.44");
    owner.register("owner", PASSWORD).await;
    owner.post_form("/api/logout", &[]).await; // signed out; the browser keeps its device cookie
    assert!(owner.cookie("latch_device").is_some(), "a device cookie after signing in");
    let neighbour = app.another_client("127.0.0.44");
    for i in 0..21 {
        neighbour.login(&format!("random{i}"), "wrong password").await;
    }
    assert_eq!(neighbour.login("owner", PASSWORD).await.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(owner.login("owner", PASSWORD).await.status(), StatusCode::OK, "the owner's browser gets in");

    // The cookie is bound to its account and signed: it exempts nobody else.
    let stolen = owner.cookie("latch_device").unwrap();
    neighbour.set_cookie("latch_device", &stolen);
    assert_eq!(neighbour.login("someone_else", "wrong password").await.status(), StatusCode::TOO_MANY_REQUESTS);
    neighbour.set_cookie("latch_device", &format!("{stolen}x"));
    assert_eq!(neighbour.login("owner", PASSWORD).await.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_device_cookie_has_a_guessing_limit_of_its_own() {
    let app = spawn_app(&[]).await;
    app.register("device", PASSWORD).await;
    app.post_form("/api/logout", &[]).await;
    let statuses: Vec<StatusCode> = {
        let mut s = Vec::new();
        for _ in 0..8 {
            s.push(app.login("device", "wrong password").await.status());
        }
        s
    };
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS), "{statuses:?}");
}

#[tokio::test]
async fn names_that_differ_only_by_full_case_folding_are_one_account() {
    let app = spawn_app(&[]).await;
    for (first, second) in [("straße", "STRASSE"), ("σασ", "ΣΑΣ"), ("Dženan", "DŽENAN")] {
        app.forget_cookies();
        assert_eq!(app.register(first, PASSWORD).await.status(), StatusCode::OK, "{first}");
        app.forget_cookies();
        assert_eq!(app.register(second, PASSWORD).await.status(), StatusCode::CONFLICT, "{second} is {first}");
        assert_eq!(app.login(second, PASSWORD).await.status(), StatusCode::OK, "{second} signs in as {first}");
        assert_eq!(app.current_user().await["username"], first);
    }
}

#[tokio::test]
async fn accounts_keyed_before_case_folding_stay_reachable() {
    use sqlx::{any::install_default_drivers, Connection};
    let app = spawn_app(&[]).await;
    install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(&app.db_url).await.unwrap();
    app.register("placeholder", PASSWORD).await;
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE username = 'placeholder'")
        .fetch_one(&mut db)
        .await
        .unwrap();
    // Rows as the previous release keyed them (lower case after NFKC), two of which now
    // fold to one key.
    for (id, name, old_key) in
        [("legacy-1", "Straße", "straße"), ("legacy-2", "STRASSE", "strasse"), ("legacy-3", "ΣΑΣ", "σας")]
    {
        sqlx::query(
            "INSERT INTO users (id, username, username_key, password_hash, created_at, username_key_version) \
             VALUES ($1, $2, $3, $4, 0, 1)",
        )
        .bind(id)
        .bind(name)
        .bind(old_key)
        .bind(&hash)
        .execute(&mut db)
        .await
        .unwrap();
    }
    let restarted = spawn_peer(&app, &[]).await; // the start-up re-keys what it can
    for (typed, who) in
        [("Straße", "Straße"), ("STRASSE", "STRASSE"), ("strasse", "STRASSE"), ("σασ", "ΣΑΣ"), ("ΣΑΣ", "ΣΑΣ")]
    {
        restarted.forget_cookies();
        assert_eq!(restarted.login(typed, PASSWORD).await.status(), StatusCode::OK, "{typed}");
        assert_eq!(restarted.current_user().await["username"], who, "{typed}");
    }
    restarted.forget_cookies();
    assert_eq!(restarted.register("σασ", PASSWORD).await.status(), StatusCode::CONFLICT, "ΣΑΣ's key is folded now");
}

#[tokio::test]
async fn a_token_cookie_named_twice_is_anonymous_and_both_are_cleared() {
    let (app, access, _) = target().await;
    let other = app.another_client("127.0.0.45");
    other.register("planted", PASSWORD).await;
    let planted = other.cookie("jwt_access").unwrap();
    for header in
        [format!("jwt_access={access}; jwt_access={planted}"), format!("jwt_access={planted}; jwt_access={access}")]
    {
        let response =
            app.http.post(format!("{}/api/current_user", app.base)).header("cookie", header).send().await.unwrap();
        let cleared = set_cookies(&response);
        for name in ["jwt_access", "jwt_refresh"] {
            assert_eq!(cookie_named(&cleared, name).and_then(|c| c.max_age()), Some(0), "{name} cleared");
        }
        assert_eq!(response.json::<Value>().await.unwrap(), json!(null));
    }
}

#[tokio::test]
async fn host_prefixed_cookie_names_work() {
    let app = spawn_app(&[
        ("ACCESS_TOKEN_KEY", "__Host-jwt_access"),
        ("REFRESH_TOKEN_KEY", "__Host-jwt_refresh"),
        ("ACCESS_TOKEN_LIFETIME", "1"),
    ])
    .await;
    let response = app.register("prefixed", PASSWORD).await;
    let cookies = set_cookies(&response);
    for name in ["__Host-jwt_access", "__Host-jwt_refresh"] {
        let cookie = cookie_named(&cookies, name).unwrap_or_else(|| panic!("{name}: {cookies:?}"));
        assert!(cookie.has("Secure") && cookie.has("Path=/"), "{}", cookie.raw);
        assert!(!cookie.raw.to_ascii_lowercase().contains("domain="), "{}", cookie.raw);
    }
    outlive(1).await;
    assert_eq!(app.current_user().await["username"], "prefixed", "refreshed under the prefixed names");
    assert!(app.cookie("__Host-jwt_access").is_some());
}

#[tokio::test]
async fn a_body_that_is_not_utf8_is_a_400() {
    let (app, _, _) = target().await;
    let response = app
        .request(reqwest::Method::POST, "/api/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(b"username=target&password=\xff\xfe\xfd".to_vec());
    let response = app.send(response).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.json::<Value>().await.unwrap()["code"], "invalid");
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_a_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (app, _, _) = target().await;
    let mut stream = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://")).await.unwrap();
    let head = "POST /api/login HTTP/1.1\r\nHost: latch\r\nContent-Type: application/x-www-form-urlencoded\r\n\
                Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("1000\r\n{}\r\n", "p".repeat(0x1000));
    for _ in 0..6 {
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break; // the server may answer and close before reading it all
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer).await;
    let status_line = String::from_utf8_lossy(&answer).lines().next().unwrap_or_default().to_string();
    assert!(status_line.starts_with("HTTP/1.1 413"), "{status_line}");
}

#[tokio::test]
async fn no_plain_form_answer_redirects_to_another_site() {
    let (app, _, _) = target().await;
    for path in [
        "/api/current_user",
        "/api/check_reset_link",
        "/api/logout",
        "/api/sessions",
        "/api/events",
        "/api/account",
        "/api/login",
        "/api/forgot_password",
    ] {
        let request = app
            .request(reqwest::Method::POST, path)
            .header("accept", "text/html")
            .header("origin", app.base.clone())
            .header("referer", "https://evil.example/x?")
            .form(&[("token", "x"), ("login", "x")]);
        let response = app.send(request).await;
        if let Some(location) = response.headers().get("location") {
            let location = location.to_str().unwrap();
            assert!(location.starts_with('/') && !location.starts_with("//"), "{path} → {location}");
        }
        app.login("target", PASSWORD).await;
    }
}

#[tokio::test]
async fn failed_sign_ins_elsewhere_do_not_lock_the_owner_out_of_their_profile() {
    let (app, _, _) = target().await;
    let attacker = app.another_client("127.0.0.46");
    for _ in 0..10 {
        attacker.login("target", "wrong password").await;
    }
    assert_eq!(
        attacker.login("target", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the attacker is slowed"
    );
    let changed = app
        .post_form("/api/change_password", &[("current_password", PASSWORD), ("new_password", "a new password!")])
        .await;
    assert_eq!(changed.status(), StatusCode::OK, "the signed-in owner is not");
}
