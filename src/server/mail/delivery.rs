//! Delivery: the transport (SMTP, or `.eml` files with no `SMTP_URL`) and the worker
//! that drains the outbox.

use super::{outbox, Mailer};
use crate::server::{db::Db, settings::Settings};
use lettre::{
    message::{header::ContentType, Mailbox, MultiPart, SinglePart},
    AsyncSmtpTransport, AsyncTransport, Tokio1Executor,
};
use std::{path::PathBuf, sync::Arc, time::Duration};

/// How often a worker looks for due messages when nothing woke it: retries, and
/// messages another instance recorded.
const POLL: Duration = Duration::from_secs(1);

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Like Django's file-based email backend: one RFC 5322 file per message.
    Files(PathBuf),
}

impl Transport {
    pub fn from_settings(settings: &Settings) -> Result<Self, String> {
        use secrecy::ExposeSecret;
        match &settings.smtp_url {
            Some(url) => {
                let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .map_err(|e| format!("SMTP_URL: {e}"))?;
                Ok(Transport::Smtp(builder.timeout(Some(Duration::from_secs(10))).build()))
            }
            None => Ok(Transport::Files(settings.outbox_dir.clone())),
        }
    }
}

/// Sends what is due, then waits to be woken (or for the next poll), forever.
pub async fn run(db: Db, mailer: Arc<Mailer>) {
    loop {
        loop {
            match outbox::claim(&db, mailer.postgres).await {
                Ok(Some(claimed)) => deliver(&db, &mailer, claimed).await,
                Ok(None) => break,
                Err(error) => {
                    tracing::warn!(%error, "mail: cannot read the outbox; trying again shortly");
                    break;
                }
            }
        }
        tokio::select! {
            _ = mailer.wake.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
    }
}

async fn deliver(db: &Db, mailer: &Mailer, claimed: outbox::Claimed) {
    // A send never outlives its lease, so no other worker can claim the message while
    // this one may still be sending it (lettre's own timeout is per SMTP step).
    let deadline = std::time::Duration::from_secs((outbox::LEASE_SECONDS - 5) as u64);
    let email = match build(mailer, &claimed) {
        Ok(email) => email,
        Err(error) => {
            // No attempt can succeed: the message is given up, not retried forever.
            tracing::error!(id = %claimed.id, %error, "mail: cannot be sent; given up");
            if let Err(error) = outbox::give_up(db, &claimed, &error).await {
                tracing::error!(%error, id = %claimed.id, "mail: cannot record giving up; the lease will expire");
            }
            return;
        }
    };
    let outcome = match tokio::time::timeout(deadline, send(mailer, &claimed, email)).await {
        Ok(sent) => sent,
        Err(_) => Err("timed out".to_string()),
    };
    match outcome {
        Ok(()) => {
            if let Err(error) = outbox::mark_sent(db, &claimed).await {
                // Sent, but not recorded as sent: it goes again when the lease runs out.
                tracing::error!(%error, id = %claimed.id, "mail: sent but cannot record it");
            }
        }
        Err(error) => {
            let delay = outbox::backoff(claimed.attempt, mailer.retry_max);
            tracing::warn!(id = %claimed.id, attempt = claimed.attempt, retry_in = delay, %error, "mail: not delivered");
            if let Err(error) = outbox::retry_later(db, &claimed, delay, &error).await {
                tracing::error!(%error, id = %claimed.id, "mail: cannot reschedule; the lease will expire");
            }
        }
    }
}

fn build(mailer: &Mailer, claimed: &outbox::Claimed) -> Result<lettre::Message, String> {
    let message = &claimed.message;
    let from: Mailbox = mailer.from.parse().map_err(|e| format!("MAIL_FROM: {e}"))?;
    let to: Mailbox = message.to.parse().map_err(|e| format!("recipient: {e}"))?;
    // The outbox id names the message: a receiver can tell a redelivery from a new one.
    let domain = from.email.domain().to_string();
    lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(message.subject.clone())
        .message_id(Some(format!("<{}@{domain}>", claimed.id)))
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(message.text.clone()))
                .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(message.html.clone())),
        )
        .map_err(|e| format!("cannot build the message: {e}"))
}

async fn send(mailer: &Mailer, claimed: &outbox::Claimed, email: lettre::Message) -> Result<(), String> {
    match &mailer.transport {
        Transport::Smtp(smtp) => smtp.send(email).await.map(drop).map_err(|e| e.to_string()),
        Transport::Files(dir) => {
            let path = write_eml(dir, &claimed.id, &email.formatted()).await.map_err(|e| e.to_string())?;
            // With no mail server, the log is how a developer follows the link (like
            // Django's console backend). Only in this mode does a link reach a log.
            let link = claimed.message.text.lines().find(|l| l.starts_with("http")).unwrap_or("(no link)");
            tracing::info!(file = %path.display(), to = %claimed.message.to, "mail written: {link}");
            Ok(())
        }
    }
}

/// Written under a temporary name, then renamed: a reader never sees half a message.
async fn write_eml(dir: &std::path::Path, id: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    tokio::fs::create_dir_all(dir).await?;
    let name = format!("{}-{id}.eml", crate::server::db::now());
    let temporary = dir.join(format!(".{name}.tmp"));
    tokio::fs::write(&temporary, bytes).await?;
    let path = dir.join(name);
    tokio::fs::rename(&temporary, &path).await?;
    Ok(path)
}
