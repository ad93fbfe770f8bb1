//! A real SMTP server for the tests that send mail: Debian's aiosmtpd, storing what it
//! receives in a Maildir. `make test` starts one for the whole suite and names it in
//! `LATCH_TEST_SMTP` and `LATCH_TEST_MAILDIR`; a test that must stop and start its
//! server (an outage) runs one of its own, as does any test run without `make`.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

pub struct Smtp {
    pub port: u16,
    pub maildir: PathBuf,
    child: Option<tokio::process::Child>,
    _dir: Option<tempfile::TempDir>,
}

/// One received message, its quoted-printable text decoded.
#[derive(Debug, Clone)]
pub struct Mail {
    pub raw: String,
    pub decoded: String,
}

impl Mail {
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.raw.split("\r\n\r\n").next().unwrap_or(&self.raw);
        let prefix = format!("{}:", name.to_ascii_lowercase());
        head.lines().find(|l| l.to_ascii_lowercase().starts_with(&prefix)).map(|l| l[prefix.len()..].trim().to_string())
    }

    /// The first link to `path` (`/reset-password`, `/verify-email`), whole.
    pub fn link(&self, path: &str) -> Option<String> {
        let at = self.decoded.find(&format!("{path}?token="))?;
        let start = self.decoded[..at].rfind("http")?;
        let link: String =
            self.decoded[start..].chars().take_while(|c| !c.is_whitespace() && !matches!(c, '"' | '<')).collect();
        Some(link)
    }
}

impl Smtp {
    /// The suite's server when `make test` runs one, else one of this test's own.
    pub async fn shared_or_own() -> Smtp {
        match (std::env::var("LATCH_TEST_SMTP"), std::env::var("LATCH_TEST_MAILDIR")) {
            (Ok(address), Ok(maildir)) if !address.is_empty() => Smtp {
                port: address.rsplit(':').next().and_then(|p| p.parse().ok()).expect("LATCH_TEST_SMTP is host:port"),
                maildir: PathBuf::from(maildir),
                child: None,
                _dir: None,
            },
            _ => Smtp::own().await,
        }
    }

    /// A server of this test's own, on a free port, stopped when dropped.
    pub async fn own() -> Smtp {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut smtp = Smtp { port, maildir: dir.path().join("maildir"), child: None, _dir: Some(dir) };
        smtp.start().await;
        smtp
    }

    /// Starts (again) on the same port and Maildir.
    pub async fn start(&mut self) {
        assert!(self.child.is_none(), "already running");
        // Debian's aiosmtpd belongs to Debian's interpreter, not to any other python3.
        let child = tokio::process::Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{}", self.port)])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&self.maildir)
            .kill_on_drop(true)
            .spawn()
            .expect("aiosmtpd starts (Debian package python3-aiosmtpd)");
        self.child = Some(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("aiosmtpd did not listen on port {}", self.port);
    }

    /// Stops it: connections are refused until `start`.
    pub async fn stop(&mut self) {
        let mut child = self.child.take().expect("a server of this test's own, running");
        child.kill().await.unwrap();
        for _ in 0..50 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far for `address`.
    pub fn messages_to(&self, address: &str) -> Vec<Mail> {
        let mut mails = Vec::new();
        for folder in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(self.maildir.join(folder)) else { continue };
            for entry in entries.flatten() {
                let Ok(raw) = read(&entry.path()) else { continue };
                let mail = Mail { decoded: decode_quoted_printable(&raw), raw };
                let to = mail.header("To").unwrap_or_default();
                if to.to_ascii_lowercase().contains(&address.to_ascii_lowercase()) {
                    mails.push(mail);
                }
            }
        }
        mails
    }

    /// Waits (up to 20 s) until `address` has received `count` messages; returns them all.
    pub async fn wait_for(&self, address: &str, count: usize) -> Vec<Mail> {
        self.wait_for_within(address, count, 20).await
    }

    pub async fn wait_for_within(&self, address: &str, count: usize, seconds: u64) -> Vec<Mail> {
        for _ in 0..seconds * 10 {
            let mails = self.messages_to(address);
            if mails.len() >= count {
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{address} received {} message(s), expected {count}", self.messages_to(address).len());
    }
}

fn read(path: &Path) -> std::io::Result<String> {
    Ok(String::from_utf8_lossy(&std::fs::read(path)?).into_owned())
}

/// Soft line breaks (`=` at a line's end) joined, `=XX` turned back into bytes.
pub fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((high * 16 + low) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An address no other test uses.
pub fn unique_address(who: &str) -> String {
    format!("{who}.{}@example.org", uuid::Uuid::new_v4().simple())
}
