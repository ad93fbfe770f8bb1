//! Mail that is never lost. A request that sends mail records the message in the
//! `outbox` table in the same transaction as what caused it (`outbox::enqueue`), then
//! wakes this instance's worker (`delivery::run`), which sends it over SMTP, or, with no
//! `SMTP_URL`, writes it to `OUTBOX_DIR` as an `.eml` file. Requests never wait on a
//! mail server; a failed delivery is retried with a doubling wait; a restart loses
//! nothing; and with several instances each message is claimed by one of them.

pub mod delivery;
pub mod messages;
pub mod outbox;

use super::settings::Settings;
use std::net::SocketAddr;
use tokio::sync::Notify;

/// What composing and delivering mail needs; one per instance, shared by its requests
/// and its worker.
pub struct Mailer {
    /// Where every link in a mail points: `PUBLIC_ORIGIN`, never a request's `Host`.
    pub origin: String,
    pub from: String,
    pub transport: delivery::Transport,
    pub retry_max: i64,
    /// Claim with `FOR UPDATE SKIP LOCKED` (PostgreSQL) or by SQLite's single writer.
    pub postgres: bool,
    /// Poked after a request commits a message, so it leaves at once.
    pub wake: Notify,
}

impl Mailer {
    /// `listening` is the bound address, the origin of links when `PUBLIC_ORIGIN` is empty.
    pub fn new(settings: &Settings, listening: SocketAddr) -> Result<Self, String> {
        use secrecy::ExposeSecret;
        let origin = settings.public_origin.clone().unwrap_or_else(|| format!("http://{listening}"));
        Ok(Mailer {
            origin,
            from: settings.mail_from.clone(),
            transport: delivery::Transport::from_settings(settings)?,
            retry_max: settings.mail_retry_max,
            postgres: !settings.database_url.expose_secret().starts_with("sqlite:"),
            wake: Notify::new(),
        })
    }

    /// A link to `path` on this site, carrying `token`.
    pub fn link(&self, path: &str, token: &str) -> String {
        format!("{}{path}?token={token}", self.origin.trim_end_matches('/'))
    }
}
