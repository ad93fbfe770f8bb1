//! Through the real nginx in front of two instances (`make test-cluster` starts them:
//! deploy/cluster.sh, access tokens living 2 s): sign-in, refresh, the client's own
//! address in the sessions list, and failover when an instance dies mid-run. Ignored by
//! a plain `cargo test`, which has no cluster; `make test` runs them.

use reqwest::{header, StatusCode};
use serde_json::Value;
use std::{collections::BTreeMap, time::Duration};

fn cluster() -> (String, std::path::PathBuf) {
    let base = std::env::var("LATCH_CLUSTER").expect("LATCH_CLUSTER: run through make test-cluster");
    let dir = std::env::var("LATCH_CLUSTER_DIR").expect("LATCH_CLUSTER_DIR");
    (base, dir.into())
}

/// A browser on its own address, keeping its cookies.
struct Browser {
    http: reqwest::Client,
    base: String,
    jar: BTreeMap<String, String>,
}

impl Browser {
    fn new(base: &str, address: &str) -> Browser {
        let http = reqwest::Client::builder()
            .local_address(address.parse::<std::net::IpAddr>().unwrap())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        Browser { http, base: base.to_string(), jar: BTreeMap::new() }
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
        let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut request = self.http.post(format!("{}{path}", self.base)).form(form);
        if !cookies.is_empty() {
            request = request.header(header::COOKIE, cookies.join("; "));
        }
        let response = request.send().await.expect("nginx answers");
        for set in response.headers().get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()) {
            let pair = set.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() || set.contains("Max-Age=0") {
                    self.jar.remove(name);
                } else {
                    self.jar.insert(name.to_string(), value.to_string());
                }
            }
        }
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn who(&mut self) -> Value {
        let (status, user) = self.post("/api/current_user", &[]).await;
        assert_eq!(status, StatusCode::OK);
        user
    }
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", &uuid_like())
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{nanos:x}")
}

#[tokio::test]
#[ignore = "needs the nginx cluster: make test-cluster"]
async fn through_nginx_sign_in_refresh_and_the_clients_own_address() {
    let (base, _) = cluster();
    let mut browser = Browser::new(&base, "127.0.0.71");
    let name = unique("edge");
    let (status, _) =
        browser.post("/api/register", &[("username", &name), ("password", "correct horse battery")]).await;
    assert_eq!(status, StatusCode::OK);
    let access = browser.jar.get("jwt_access").cloned().unwrap();
    tokio::time::sleep(Duration::from_millis(3200)).await; // past the 2 s access lifetime
    assert_eq!(browser.who().await["username"], name.as_str(), "refreshed through nginx");
    assert_ne!(browser.jar.get("jwt_access"), Some(&access), "a new access cookie");

    let (status, sessions) = browser.post("/api/sessions", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sessions[0]["ip"], "127.0.0.71", "the client nginx saw, not nginx: {sessions}");

    // A forged X-Forwarded-For is only the leftmost entry: still the real address.
    let mut forger = Browser::new(&base, "127.0.0.72");
    let name = unique("forger");
    let response = forger
        .http
        .post(format!("{base}/api/register"))
        .header("x-forwarded-for", "6.6.6.6")
        .form(&[("username", name.as_str()), ("password", "correct horse battery")])
        .send()
        .await
        .unwrap();
    let set: Vec<String> =
        response.headers().get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect();
    for pair in set.iter().filter_map(|s| s.split(';').next()?.split_once('=')) {
        forger.jar.insert(pair.0.to_string(), pair.1.to_string());
    }
    let (_, sessions) = forger.post("/api/sessions", &[]).await;
    assert_eq!(sessions[0]["ip"], "127.0.0.72", "{sessions}");
}

#[tokio::test]
#[ignore = "needs the nginx cluster: make test-cluster"]
async fn one_instance_stopped_mid_run_and_nobody_is_signed_out() {
    let (base, dir) = cluster();
    let mut browsers = Vec::new();
    for i in 0..6 {
        let mut browser = Browser::new(&base, &format!("127.0.0.{}", 80 + i));
        let name = unique(&format!("stay{i}_"));
        let (status, _) =
            browser.post("/api/register", &[("username", &name), ("password", "correct horse battery")]).await;
        assert_eq!(status, StatusCode::OK);
        browsers.push((browser, name));
    }
    let pid = std::fs::read_to_string(dir.join("latch1.pid")).expect("instance 1's pid").trim().to_string();
    let mut stopped = false;
    for round in 0..12 {
        if round == 4 {
            let killed = std::process::Command::new("kill").args(["-9", &pid]).status().unwrap();
            assert!(killed.success());
            // Stopped means gone: once the kernel has closed its socket, connections
            // to it are refused (a request caught in those milliseconds would be an
            // in-flight loss, which no proxy can undo for a POST).
            for _ in 0..100 {
                if tokio::net::TcpStream::connect("127.0.0.1:3011").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            stopped = true;
        }
        for (browser, name) in browsers.iter_mut() {
            assert_eq!(browser.who().await["username"], name.as_str(), "round {round}: still signed in");
        }
        tokio::time::sleep(Duration::from_millis(600)).await; // refreshes happen on the way
    }
    assert!(stopped);
    let health = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK, "nginx serves from the instance left");
}
