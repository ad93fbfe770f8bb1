//! The `latch` binary: reads the settings, starts the server, stops on SIGTERM/SIGINT.
//!
//! The admin commands act on the configured database, and what they revoke reaches
//! every running instance within seconds (`session::revocation`):
//!
//! - `latch users create NAME` (the password on standard input), `latch users list`,
//!   `latch users disable NAME`, `latch users delete NAME`;
//! - `latch sessions list [--user NAME]`, `latch sessions revoke [--user NAME]`;
//! - `latch keys rotate` (a new signing key that every instance picks up before it
//!   signs, without signing anyone out), `latch keys list`.
//!
//! Exit codes: 0 done, 1 refused or failed (one line on stderr says why), 2 usage.

use latch::server::{settings::Settings, Application};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// Small, short-lived allocations are what rendering a page is made of; mimalloc serves
/// them with far fewer instructions than glibc's malloc (bench/RESULTS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")))
        .init();

    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] => start().await,
        ["users", "create", name] => create_user(name).await,
        ["users", "list"] => list_users().await,
        ["users", action @ ("disable" | "delete"), name] => manage_user(action, name).await,
        ["sessions", "list"] => sessions(false, None).await,
        ["sessions", "list", "--user", name] => sessions(false, Some(name)).await,
        ["sessions", "revoke"] => sessions(true, None).await,
        ["sessions", "revoke", "--user", name] => sessions(true, Some(name)).await,
        ["keys", "rotate"] => rotate_keys().await,
        ["keys", "list"] => list_keys().await,
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("latch: {message}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: latch                                   serve
       latch users create NAME                 (password on standard input)
       latch users list | disable NAME | delete NAME
       latch sessions list [--user NAME]
       latch sessions revoke [--user NAME]
       latch keys rotate | list";

/// The configured database, for a command.
async fn database() -> Result<(Settings, latch::server::db::Db), String> {
    let settings = Settings::load().map_err(|e| e.to_string())?;
    let pool = latch::server::db::connect(&settings.database_url).await.map_err(|e| e.to_string())?;
    Ok((settings, pool))
}

fn admin(what: String) -> latch::server::session::sessions::ClientInfo {
    latch::server::session::sessions::ClientInfo { user_agent: Some(what), ip: None }
}

async fn create_user(name: &str) -> Result<(), String> {
    use latch::server::account::{
        domain::{Password, Username},
        password::Hasher,
        users,
    };
    let username = Username::parse(name).map_err(|e| e.message)?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).map_err(|e| format!("cannot read the password: {e}"))?;
    let password = Password::parse(line.trim_end_matches(['\r', '\n']).to_string()).map_err(|e| e.message)?;
    let (_, pool) = database().await?;
    let hasher = Hasher::new().map_err(|_| "argon2: cannot hash".to_string())?;
    let hash = hasher.hash(password).await.map_err(|_| "argon2: cannot hash".to_string())?;
    let user = users::create(&pool, &username, &hash).await.map_err(|e| e.message)?;
    let by = admin(format!("latch users create {name}"));
    latch::server::audit::record(&pool, latch::server::audit::Event::Registered, Some(&user.id), None, &by).await;
    pool.close().await;
    println!("created {} ({})", user.username, user.id);
    Ok(())
}

async fn list_users() -> Result<(), String> {
    let (_, pool) = database().await?;
    let users = latch::server::account::users::list(&pool).await.map_err(|e| e.message)?;
    pool.close().await;
    println!("{:<32} {:<36} {:<20} {:<8} email", "username", "id", "created", "state");
    for (name, id, created, disabled, email, verified) in users {
        let email = email.map(|e| if verified { e } else { format!("{e} (unverified)") }).unwrap_or_default();
        let state = if disabled { "disabled" } else { "active" };
        println!("{name:<32} {id:<36} {:<20} {state:<8} {email}", latch::shared::format_utc(created));
    }
    Ok(())
}

/// Lists, or revokes, every live session or one user's.
async fn sessions(revoke: bool, name: Option<&str>) -> Result<(), String> {
    use latch::server::{
        account::{domain::Username, users},
        session::sessions,
    };
    let (_, pool) = database().await?;
    let user_id = match name {
        Some(name) => {
            let username = Username::parse(name).map_err(|e| e.message)?;
            let user = users::find_by_name(&pool, &username).await.map_err(|e| e.message)?;
            Some(user.ok_or_else(|| format!("no such user: {name}"))?.user.id)
        }
        None => None,
    };
    if revoke {
        let n = sessions::revoke_everyone(&pool, user_id.as_deref()).await.map_err(|e| e.message)?;
        let by = admin(format!("latch sessions revoke{}", name.map(|n| format!(" --user {n}")).unwrap_or_default()));
        latch::server::audit::record(
            &pool,
            latch::server::audit::Event::SignedOutEverywhere,
            user_id.as_deref(),
            None,
            &by,
        )
        .await;
        println!("revoked {n} session(s); running instances refuse their access tokens within seconds");
    } else {
        let list = sessions::list_all(&pool, user_id.as_deref()).await.map_err(|e| e.message)?;
        println!("{:<24} {:<36} {:<28} {:<16} {:<20} last seen", "username", "session", "device", "address", "since");
        for (username, s) in list {
            let ip = s.ip.unwrap_or_default();
            let since = latch::shared::format_utc(s.created_at);
            println!(
                "{username:<24} {:<36} {:<28} {ip:<16} {since:<20} {}",
                s.id,
                s.device,
                latch::shared::format_utc(s.last_used_at)
            );
        }
    }
    pool.close().await;
    Ok(())
}

async fn list_keys() -> Result<(), String> {
    let (settings, pool) = database().await?;
    if settings.jwt_secret.is_some() {
        println!("JWT_SECRET is set: the one key comes from it, none is stored");
    }
    let keys = latch::server::session::keys::list(&pool).await.map_err(|e| format!("cannot read the keys: {e}"))?;
    pool.close().await;
    println!("{:<24} {:<20} signs from", "kid", "created");
    for (kid, created, activates) in keys {
        println!("{kid:<24} {:<20} {}", latch::shared::format_utc(created), latch::shared::format_utc(activates));
    }
    Ok(())
}

async fn start() -> Result<(), String> {
    let settings = Settings::load().map_err(|e| e.to_string())?;
    // cargo-leptos compiles its settings in and sets LEPTOS_* for `cargo leptos serve`.
    let mut options =
        leptos::config::get_configuration(None).map_err(|e| format!("LEPTOS_OUTPUT_NAME: {e}"))?.leptos_options;
    // A release build's /pkg/ files carry content hashes listed in hash.txt beside the
    // binary; follow it unless LEPTOS_HASH_FILES says otherwise.
    if std::env::var_os("LEPTOS_HASH_FILES").is_none() {
        options.hash_files = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|dir| dir.join(options.hash_file.as_ref()).exists()))
            .unwrap_or(false);
    }
    tracing::debug!(?settings, "settings");
    let app = Application::build(settings, options).await.map_err(|e| e.to_string())?;
    app.run_until_stopped(shutdown_signal()).await.map_err(|e| format!("server: {e}"))
}

async fn manage_user(action: &str, name: &str) -> Result<(), String> {
    use latch::server::{
        account::{domain::Username, users},
        audit::{self, Event},
        db,
        session::sessions::ClientInfo,
    };
    let settings = Settings::load().map_err(|e| e.to_string())?;
    let pool = db::connect(&settings.database_url).await.map_err(|e| e.to_string())?;
    let username = Username::parse(name).map_err(|e| e.message)?;
    let (found, event) = match action {
        "disable" => (users::disable(&pool, &username).await, Event::UserDisabled),
        _ => (users::delete(&pool, &username).await, Event::UserDeleted),
    };
    let found = found.map_err(|e| e.message)?;
    if found {
        audit::record(
            &pool,
            event,
            None,
            None,
            &ClientInfo { user_agent: Some(format!("latch users {action} {name}")), ip: None },
        )
        .await;
    }
    pool.close().await;
    if found {
        println!("{action}d {name}; their sessions are revoked");
        Ok(())
    } else {
        Err(format!("no such active user: {name}"))
    }
}

async fn rotate_keys() -> Result<(), String> {
    use latch::server::{
        audit::{self, Event},
        db,
        session::{keys, sessions::ClientInfo},
    };
    let settings = Settings::load().map_err(|e| e.to_string())?;
    if settings.jwt_secret.is_some() {
        return Err("JWT_SECRET is set, so no keys are stored: change it on every instance instead".into());
    }
    let pool = db::connect(&settings.database_url).await.map_err(|e| e.to_string())?;
    let (kid, activates_at) = keys::rotate(&pool, settings.key_propagation, settings.refresh_token_lifetime)
        .await
        .map_err(|e| format!("cannot rotate the keys: {e}"))?;
    let by = ClientInfo { user_agent: Some(format!("latch keys rotate ({kid})")), ip: None };
    audit::record(&pool, Event::KeyRotated, None, None, &by).await;
    pool.close().await;
    println!(
        "new signing key {kid}: signs from {} (in {} s); the old key verifies until its tokens expire",
        latch::shared::format_utc(activates_at),
        settings.key_propagation
    );
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
