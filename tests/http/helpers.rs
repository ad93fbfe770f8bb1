//! A real Latch on port 0 with its own temporary database, and a client that keeps
//! cookies the way a browser would but lets each test read, tamper with and replay them.

use latch::server::{settings::Settings, Application};
use leptos::config::LeptosOptions;
use reqwest::{header, Response, StatusCode};
use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

#[derive(Clone)]
pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub jar: Arc<Mutex<BTreeMap<String, String>>>,
    pub db_url: String,
    pub dir: Arc<tempfile::TempDir>,
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
        self.attributes.iter().find_map(|a| a.strip_prefix("Max-Age=").and_then(|v| v.parse().ok()))
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

/// The PostgreSQL server to test on (an admin URL), when the suite runs on PostgreSQL:
/// `make test` runs it once without and once with `LATCH_TEST_POSTGRES`.
pub fn postgres_admin() -> Option<String> {
    std::env::var("LATCH_TEST_POSTGRES").ok().filter(|url| !url.is_empty())
}

/// A fresh, empty database for one test: a SQLite file in `dir`, or a new PostgreSQL
/// database when the suite runs on PostgreSQL.
pub async fn fresh_database(dir: &tempfile::TempDir) -> String {
    match postgres_admin() {
        None => format!("sqlite://{}/latch.db", dir.path().display()),
        Some(admin) => {
            use sqlx::Connection;
            let name = format!("latch_test_{}", uuid::Uuid::new_v4().simple());
            let mut conn = sqlx::PgConnection::connect(&admin).await.expect("PostgreSQL admin connection");
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create database");
            let (server, _) = admin.rsplit_once('/').expect("admin URL ends in /database");
            format!("{server}/{name}")
        }
    }
}

/// Starts Latch with the given settings (upper-case keys) on a fresh database.
pub async fn spawn_app(overrides: &[(&str, &str)]) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    let db_url = fresh_database(&dir).await;
    spawn_app_on(&db_url, dir, overrides).await
}

/// Starts Latch on a database of the caller's choosing (say, through a proxy).
pub async fn spawn_app_with_database(db_url: &str, overrides: &[(&str, &str)]) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
    spawn_app_on(db_url, dir, overrides).await
}

/// Starts another Latch on the same database as `other` (a restart, or a second instance).
pub async fn spawn_peer(other: &TestApp, overrides: &[(&str, &str)]) -> TestApp {
    spawn_app_on(&other.db_url, other.dir.clone(), overrides).await
}

pub async fn spawn_app_on(db_url: &str, dir: Arc<tempfile::TempDir>, overrides: &[(&str, &str)]) -> TestApp {
    let mut env: BTreeMap<String, String> = overrides.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    env.entry("DATABASE_URL".into()).or_insert_with(|| db_url.to_string());
    // Mail with no SMTP server lands in this test's own folder, never in the clone's.
    env.entry("OUTBOX_DIR".into()).or_insert_with(|| dir.path().join("outbox").display().to_string());
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
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap(),
        jar: Arc::new(Mutex::new(BTreeMap::new())),
        db_url: db_url.to_string(),
        dir,
    }
}

impl TestApp {
    /// Another browser on another machine: its own cookie jar, and requests that come
    /// from `address` (any of 127.0.0.0/8) rather than 127.0.0.1.
    pub fn another_client(&self, address: &str) -> TestApp {
        let local: std::net::IpAddr = address.parse().expect("an IP address");
        TestApp {
            base: self.base.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(REQUEST_TIMEOUT)
                .local_address(local)
                .build()
                .unwrap(),
            jar: Arc::new(Mutex::new(BTreeMap::new())),
            db_url: self.db_url.clone(),
            dir: self.dir.clone(),
        }
    }

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

/// No request of the suite's takes more than a few seconds: one that hangs fails its
/// test, naming the request, instead of stalling the whole run.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Waits until tokens issued now with a `lifetime`-second life have expired (checked
/// with zero leeway, to the second).
pub async fn outlive(lifetime: u64) {
    tokio::time::sleep(std::time::Duration::from_millis(lifetime * 1000 + 1100)).await;
}

/// A TCP relay in front of the database that a test can cut and restore: the database
/// "goes down" for the app, and only for this test's app.
pub struct Proxy {
    pub port: u16,
    up: Arc<std::sync::atomic::AtomicBool>,
    links: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    pub async fn start(target: String) -> Proxy {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let links: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let (flag, list) = (up.clone(), links.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !flag.load(Ordering::SeqCst) {
                    continue; // dropped: the connection closes at once
                }
                let target = target.clone();
                list.lock().unwrap().push(tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                }));
            }
        });
        Proxy { port, up, links }
    }

    /// Every open connection dies and new ones are refused.
    pub fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    pub fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// `postgres://user@host:port/db` → (`host:port`, the same URL with `port` instead).
pub fn through_proxy(db_url: &str, proxy_port: u16) -> (String, String) {
    let (scheme_user, rest) = db_url.split_once('@').expect("user@host in the URL");
    let (host_port, db) = rest.split_once('/').expect("/database in the URL");
    let host = host_port.split(':').next().unwrap();
    (host_port.to_string(), format!("{scheme_user}@{host}:{proxy_port}/{db}"))
}

/// Runs the `latch` binary's subcommand `args` on `app`'s database.
pub async fn run_cli(app: &TestApp, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_latch"))
        .args(args)
        .env("DATABASE_URL", &app.db_url)
        .envs(env.iter().copied())
        .output()
        .await
        .unwrap()
}

/// A `latch` process of its own.
pub struct Instance {
    pub child: tokio::process::Child,
    pub base: String,
}

/// Starts the `latch` binary on port 0 and reads the address it reports.
pub async fn start_instance(db_url: &str, env: &[(&str, &str)]) -> Instance {
    use std::process::Stdio;
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_latch"))
        .env("DATABASE_URL", db_url)
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("LEPTOS_OUTPUT_NAME", "latch")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the latch binary starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let base = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(at) = line.find("http://") {
                let url: String = line[at..].chars().take_while(|c| !c.is_whitespace() && *c != '\u{1b}').collect();
                return url;
            }
        }
        panic!("latch exited before listening");
    })
    .await
    .expect("latch listens within 30 s");
    // Keep reading, so a full pipe never stalls the server.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Instance { child, base }
}

/// `futures::future::join_all` without the dependency: spawn and await in order.
pub async fn futures_join_all<F, T>(futures: impl Iterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

/// A connection of the test's own to `app`'s database, to look at what the server wrote.
pub async fn database(app: &TestApp) -> sqlx::AnyConnection {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    sqlx::AnyConnection::connect(&app.db_url).await.unwrap()
}

/// The one number `sql` selects (as `n`) from `app`'s database.
pub async fn count(app: &TestApp, sql: &str) -> i64 {
    use sqlx::Row;
    let mut db = database(app).await;
    sqlx::query(sql).fetch_one(&mut db).await.unwrap().try_get("n").unwrap()
}
