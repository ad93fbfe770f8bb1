//! Sessions the user controls: listed with their device, ended one by one, all others,
//! or all; a revoked session's access token refused within 2 s on every instance; and
//! the client's address behind a trusted reverse proxy.

use crate::helpers::*;
use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const CHROME: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";

async fn sessions_of(client: &TestApp) -> Vec<Value> {
    let response = client.post_form("/api/sessions", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json::<Value>().await.unwrap().as_array().unwrap().clone()
}

/// `name` signed in from a second client; returns it.
async fn elsewhere(app: &TestApp, name: &str, address: &str) -> TestApp {
    let other = app.another_client(address);
    assert_eq!(other.login(name, PASSWORD).await.status(), StatusCode::OK);
    other
}

#[tokio::test]
async fn each_session_is_listed_with_the_contract_fields() {
    let app = spawn_app(&[]).await;
    let request = app
        .request(reqwest::Method::POST, "/api/register")
        .header(header::USER_AGENT, CHROME)
        .form(&[("username", "lister"), ("password", PASSWORD)]);
    app.send(request).await;
    elsewhere(&app, "lister", "127.0.0.61").await;
    let list = sessions_of(&app).await;
    assert_eq!(list.len(), 2);
    let mine = list.iter().find(|s| s["current"] == true).expect("the current session");
    let mut keys: Vec<&str> = mine.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["created_at", "current", "device", "id", "ip", "last_used_at", "method", "user_agent"]);
    assert_eq!(mine["device"], "Chrome on Linux");
    assert_eq!(mine["user_agent"], CHROME);
    assert_eq!(mine["ip"], "127.0.0.1");
    assert_eq!(mine["method"], "password", "a session opened by registration");
    let other = list.iter().find(|s| s["current"] == false).unwrap();
    assert_eq!(other["ip"], "127.0.0.61");
}

#[tokio::test]
async fn ending_one_session_and_someone_elses_id_is_a_404() {
    let app = spawn_app(&[]).await;
    app.register("owner", PASSWORD).await;
    let phone = elsewhere(&app, "owner", "127.0.0.62").await;
    let phone_id = sessions_of(&phone).await.into_iter().find(|s| s["current"] == true).unwrap()["id"].clone();

    let stranger = app.another_client("127.0.0.63");
    stranger.register("stranger", PASSWORD).await;
    let refused = stranger.post_form("/api/revoke_session", &[("id", phone_id.as_str().unwrap())]).await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert_eq!(refused.json::<Value>().await.unwrap()["code"], "not_found");
    assert_eq!(phone.current_user().await["username"], "owner", "nothing happened");
    assert_eq!(
        app.post_form("/api/revoke_session", &[("id", "no-such-session")]).await.status(),
        StatusCode::NOT_FOUND
    );

    let ended = app.post_form("/api/revoke_session", &[("id", phone_id.as_str().unwrap())]).await;
    assert_eq!(ended.status(), StatusCode::OK);
    assert_eq!(sessions_of(&app).await.len(), 1, "revoked sessions are not listed");
    wait_until_anonymous(&phone, Duration::from_secs(2)).await;
    assert_eq!(app.current_user().await["username"], "owner", "this browser carries on");
}

#[tokio::test]
async fn sign_out_everywhere_else_then_everywhere() {
    let app = spawn_app(&[]).await;
    app.register("many", PASSWORD).await;
    let a = elsewhere(&app, "many", "127.0.0.64").await;
    let b = elsewhere(&app, "many", "127.0.0.65").await;
    let others = app.post_form("/api/sign_out_others", &[]).await;
    assert_eq!(others.status(), StatusCode::OK);
    assert_eq!(others.json::<Value>().await.unwrap(), json!({"revoked": 2}));
    for client in [&a, &b] {
        wait_until_anonymous(client, Duration::from_secs(2)).await;
    }
    assert_eq!(app.current_user().await["username"], "many");

    let c = elsewhere(&app, "many", "127.0.0.66").await;
    let refresh = app.cookie("jwt_refresh").unwrap();
    let everywhere = app.post_form("/api/sign_out_everywhere", &[]).await;
    assert_eq!(everywhere.status(), StatusCode::OK);
    let cleared = set_cookies(&everywhere);
    for name in ["jwt_access", "jwt_refresh"] {
        assert_eq!(cookie_named(&cleared, name).and_then(|c| c.max_age()), Some(0), "{name}");
    }
    wait_until_anonymous(&c, Duration::from_secs(2)).await;
    let replay = app.another_client("127.0.0.67");
    replay.set_cookie("jwt_refresh", &refresh);
    assert_eq!(replay.current_user().await, json!(null));
}

/// Polls `client` (its access cookie only) until it is anonymous; returns how long.
async fn wait_until_anonymous(client: &TestApp, within: Duration) -> Duration {
    let access = client.cookie("jwt_access").expect("an access cookie to test");
    let started = Instant::now();
    loop {
        client.forget_cookies();
        client.set_cookie("jwt_access", &access);
        if client.current_user().await == json!(null) {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "still signed in after {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_revoked_sessions_access_token_is_refused_within_two_seconds_on_another_instance() {
    let a = spawn_app(&[]).await;
    let b = spawn_peer(&a, &[]).await;
    a.register("watched", PASSWORD).await;
    let thief = b.another_client("127.0.0.68");
    let token = a.cookie("jwt_access").unwrap();
    thief.set_cookie("jwt_access", &token);
    assert_eq!(thief.current_user().await["username"], "watched", "B honours A's token");

    let started = Instant::now();
    assert_eq!(a.post_form("/api/logout", &[]).await.status(), StatusCode::OK);
    let took = wait_until_anonymous(&thief, Duration::from_secs(2)).await;
    eprintln!("revocation reached the other instance after {took:?} (from sign-out: {:?})", started.elapsed());
    thief.set_cookie("jwt_access", &token);
    let response = thief.post_form("/api/current_user", &[]).await;
    assert_eq!(cookie_named(&set_cookies(&response), "jwt_access").and_then(|c| c.max_age()), Some(0), "cleared");
}

#[tokio::test]
async fn a_forged_forwarded_for_from_an_untrusted_peer_counts_against_the_peer() {
    let app = spawn_app(&[]).await;
    let client = app.another_client("127.0.0.69");
    for i in 0..21 {
        let request = client
            .request(reqwest::Method::POST, "/api/login")
            .header("x-forwarded-for", format!("198.51.100.{i}"))
            .form(&[("username", format!("someone{i}").as_str()), ("password", "wrong password")]);
        client.send(request).await;
    }
    let request = client
        .request(reqwest::Method::POST, "/api/login")
        .header("x-forwarded-for", "203.0.113.99")
        .form(&[("username", "anyone"), ("password", "wrong password")]);
    assert_eq!(client.send(request).await.status(), StatusCode::TOO_MANY_REQUESTS, "the peer is throttled");

    let request = client
        .request(reqwest::Method::POST, "/api/register")
        .header("x-forwarded-for", "203.0.113.99")
        .form(&[("username", "forger"), ("password", PASSWORD)]);
    client.send(request).await;
    assert_eq!(sessions_of(&client).await[0]["ip"], "127.0.0.69", "the header is ignored");
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_is_throttled_and_listed_as_itself() {
    let app = spawn_app(&[("TRUSTED_PROXIES", "127.0.0.70")]).await;
    let proxy = app.another_client("127.0.0.70");
    let through = |client: &str, path: &str, form: Vec<(&'static str, String)>| {
        proxy.request(reqwest::Method::POST, path).header("x-forwarded-for", format!("6.6.6.6, {client}")).form(&form)
    };
    for i in 0..21 {
        let form = vec![("username", format!("victim{i}")), ("password", "wrong password".into())];
        proxy.send(through("198.51.100.1", "/api/login", form)).await;
    }
    let form = vec![("username", "victim".into()), ("password", "wrong password".into())];
    assert_eq!(
        proxy.send(through("198.51.100.1", "/api/login", form.clone())).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        proxy.send(through("198.51.100.2", "/api/login", form)).await.status(),
        StatusCode::UNAUTHORIZED,
        "another client behind the same proxy is not throttled"
    );
    let form = vec![("username", "proxied".into()), ("password", PASSWORD.into())];
    assert_eq!(proxy.send(through("198.51.100.3", "/api/register", form)).await.status(), StatusCode::OK);
    assert_eq!(sessions_of(&proxy).await[0]["ip"], "198.51.100.3");
}

#[tokio::test]
async fn an_unknown_api_path_is_a_json_404() {
    let app = spawn_app(&[]).await;
    for path in ["/api/no_such_function", "/api/login/extra", "/api/"] {
        let response = app.post_form(path, &[]).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let body = response.text().await.unwrap();
        let body: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{path}: {body}"));
        assert_eq!(body["code"], "not_found", "{path}");
    }
}

#[tokio::test]
async fn the_admin_commands_list_and_revoke_and_running_instances_hear_of_it() {
    let app = spawn_app(&[]).await;
    let created = tokio::process::Command::new(env!("CARGO_BIN_EXE_latch"))
        .args(["users", "create", "admin_made"])
        .env("DATABASE_URL", &app.db_url)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let output = {
        use tokio::io::AsyncWriteExt;
        let mut child = created;
        child.stdin.take().unwrap().write_all(format!("{PASSWORD}\n").as_bytes()).await.unwrap();
        child.wait_with_output().await.unwrap()
    };
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(app.login("admin_made", PASSWORD).await.status(), StatusCode::OK);

    let listed = run_cli(&app, &[], &["users", "list"]).await;
    assert!(String::from_utf8_lossy(&listed.stdout).contains("admin_made"));
    let sessions = run_cli(&app, &[], &["sessions", "list", "--user", "admin_made"]).await;
    assert!(sessions.status.success());
    assert!(String::from_utf8_lossy(&sessions.stdout).contains("127.0.0.1"));

    let started = Instant::now();
    let revoked = run_cli(&app, &[], &["sessions", "revoke", "--user", "admin_made"]).await;
    assert!(revoked.status.success(), "{}", String::from_utf8_lossy(&revoked.stderr));
    assert!(String::from_utf8_lossy(&revoked.stdout).contains("revoked 1 session"));
    wait_until_anonymous(&app, Duration::from_secs(3)).await;
    eprintln!("a CLI revocation reached the running instance {:?} after the command started", started.elapsed());

    let keys = run_cli(&app, &[], &["keys", "list"]).await;
    assert!(keys.status.success() && String::from_utf8_lossy(&keys.stdout).contains("kid"));
    let unknown = run_cli(&app, &[], &["sessions", "revoke", "--user", "nobody_at_all"]).await;
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no such user"));
    let usage = run_cli(&app, &[], &["frobnicate"]).await;
    assert_eq!(usage.status.code(), Some(2));
}
