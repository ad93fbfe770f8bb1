//! A real Latch on port 0 with its own temporary database, and a client that keeps
//! cookies the way a browser would but lets each test read, tamper with and replay them.

use latch::server::{settings::Settings, Application};
use leptos::config::LeptosOptions;
use reqwest::{header, Response, StatusCode};
use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub jar: Arc<Mutex<BTreeMap<String, String>>>,
    pub db_url: String,
    _dir: Arc<tempfile::TempDir>,
}

/// One `Set-Cookie` as the browser would read it.
#[derive(Debug, Clone)]
pub struct SetCookie {
    pub name: String,
    pub value: String,
    pub attributes: Vec<String>,
    pub raw: String,
}

impl SetCookie {
    pub fn has(&self, attribute: &str) -> bool {
        self.attributes.iter().any(|a| a.eq_ignore_ascii_case(attribute))
    }
    pub fn max_age(&self) -> Option<i64> {
        self.attributes
            .iter()
            .find_map(|a| a.strip_prefix("Max-Age=").and_then(|v| v.parse().ok()))
    }
}

pub fn set_cookies(response: &Response) -> Vec<SetCookie> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|raw| {
            let mut parts = raw.split(';').map(str::trim);
            let (name, value) = parts.next().and_then(|nv| nv.split_once('=')).unwrap_or(("", ""));
            SetCookie {
                name: name.to_string(),
                value: value.to_string(),
                attributes: parts.map(str::to_string).collect(),
                raw: raw.to_string(),
            }
        })
        .collect()
}

pub fn cookie_named<'a>(cookies: &'a [SetCookie], name: &str) -> Option<&'a SetCookie> {
    cookies.iter().find(|c| c.name == name)
}

/// Starts Latch with the given settings (upper-case keys) on a fresh SQLite database.
pub async fn spawn_app(overrides: &[(&str, &str)]) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let db_url = format!("sqlite://{}/latch.db", dir.path().display());
    spawn_app_on(&db_url, dir, overrides).await
}

/// Starts another Latch on the same database as `other` (a restart, or a second instance).
pub async fn spawn_peer(other: &TestApp, overrides: &[(&str, &str)]) -> TestApp {
    spawn_app_on(&other.db_url, other._dir.clone(), overrides).await
}

async fn spawn_app_on(db_url: &str, dir: Arc<tempfile::TempDir>, overrides: &[(&str, &str)]) -> TestApp {
    let mut env: BTreeMap<String, String> = overrides.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    env.entry("DATABASE_URL".into()).or_insert_with(|| db_url.to_string());
    let settings = Settings::from_sources(None, |key| env.get(key).cloned()).expect("settings");
    let options = LeptosOptions::builder()
        .output_name("latch")
        .site_addr("127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap())
        .build();
    let app = Application::build(settings, options).await.expect("app starts");
    let base = format!("http://{}", app.addr());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    TestApp {
        base,
        http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
        jar: Arc::new(Mutex::new(BTreeMap::new())),
        db_url: db_url.to_string(),
        _dir: dir,
    }
}

impl TestApp {
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar.lock().unwrap().get(name).cloned()
    }

    pub fn set_cookie(&self, name: &str, value: &str) {
        self.jar.lock().unwrap().insert(name.to_string(), value.to_string());
    }

    pub fn forget_cookies(&self) {
        self.jar.lock().unwrap().clear();
    }

    fn cookie_header(&self) -> Option<String> {
        let jar = self.jar.lock().unwrap();
        (!jar.is_empty()).then(|| jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; "))
    }

    /// Keeps what the response set, drops what it cleared: a browser's jar.
    fn absorb(&self, response: &Response) {
        let mut jar = self.jar.lock().unwrap();
        for c in set_cookies(response) {
            if c.max_age() == Some(0) || c.value.is_empty() {
                jar.remove(&c.name);
            } else {
                jar.insert(c.name, c.value);
            }
        }
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut builder = self.http.request(method, format!("{}{path}", self.base));
        if let Some(cookies) = self.cookie_header() {
            builder = builder.header(header::COOKIE, cookies);
        }
        builder
    }

    pub async fn send(&self, builder: reqwest::RequestBuilder) -> Response {
        let response = builder.send().await.expect("request");
        self.absorb(&response);
        response
    }

    pub async fn get(&self, path: &str) -> Response {
        self.send(self.request(reqwest::Method::GET, path)).await
    }

    /// A server-function call as the hydrated app makes it.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.send(self.request(reqwest::Method::POST, path).form(form)).await
    }

    /// A plain HTML form post, as a browser without JavaScript makes it.
    pub async fn post_html_form(&self, path: &str, form: &[(&str, &str)]) -> Response {
        let builder = self
            .request(reqwest::Method::POST, path)
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
            .header(header::ORIGIN, self.base.clone())
            .form(form);
        self.send(builder).await
    }

    pub async fn register(&self, username: &str, password: &str) -> Response {
        self.post_form("/api/register", &[("username", username), ("password", password)]).await
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.post_form("/api/login", &[("username", username), ("password", password)]).await
    }

    pub async fn current_user(&self) -> serde_json::Value {
        let response = self.post_form("/api/current_user", &[]).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }
}

/// The claims of a JWT, read without checking it (tests look; the server checks).
pub fn claims(token: &str) -> serde_json::Value {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

pub fn header_of(token: &str) -> serde_json::Value {
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
    let head = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(head).unwrap()).unwrap()
}

pub const PASSWORD: &str = "correct horse battery";

/// Waits until tokens issued now with a `lifetime`-second life have expired (checked
/// with zero leeway, to the second).
pub async fn outlive(lifetime: u64) {
    tokio::time::sleep(std::time::Duration::from_millis(lifetime * 1000 + 1100)).await;
}
