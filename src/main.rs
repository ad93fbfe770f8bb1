//! The `latch` binary: reads the settings, starts the server, stops on SIGTERM/SIGINT.
//!
//! `latch users disable NAME` and `latch users delete NAME` act on the configured
//! database: the account's sessions are revoked at once, and its access tokens die at
//! their next refresh. `latch keys rotate` adds a signing key that every instance picks
//! up before it signs, without signing anyone out.

use latch::server::{settings::Settings, Application};
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")))
        .init();

    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] => start().await,
        ["users", action @ ("disable" | "delete"), name] => manage_user(action, name).await,
        ["keys", "rotate"] => rotate_keys().await,
        _ => Err("usage: latch [users disable NAME | users delete NAME | keys rotate]".to_string()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("latch: {message}");
            ExitCode::FAILURE
        }
    }
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
