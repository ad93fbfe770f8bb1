//! Mail that is never lost: accepted while the SMTP server is down, delivered once it
//! is back, exactly once, with several instances, and across a restart of Latch.

use crate::{helpers::*, mailbox::*};
use reqwest::StatusCode;
use std::time::Duration;

/// Registers `name` with a fresh address through `base`; returns the address.
async fn register_with_email(http: &reqwest::Client, base: &str, name: &str) -> String {
    let email = unique_address(name);
    let response = http
        .post(format!("{base}/api/register"))
        .form(&[("username", name), ("password", PASSWORD), ("email", email.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "accepted while the mail server is down");
    email
}

/// Each address has exactly one message, and stays so for a while. The wait allows for
/// a lease left by a killed instance to run out (30 s).
async fn each_received_once(smtp: &Smtp, addresses: &[String]) {
    for address in addresses {
        smtp.wait_for_within(address, 1, 45).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await; // time for a duplicate to show
    for address in addresses {
        assert_eq!(smtp.messages_to(address).len(), 1, "{address}: once, not twice");
    }
}

#[tokio::test]
async fn mail_queued_during_an_smtp_outage_arrives_once_from_two_instances() {
    let mut smtp = Smtp::own().await;
    let settings = [("SMTP_URL", smtp.url()), ("MAIL_RETRY_MAX", "1".to_string())];
    let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let a = spawn_app(&settings).await;
    let b = spawn_peer(&a, &settings).await;
    smtp.stop().await;

    let http = reqwest::Client::new();
    let mut addresses = Vec::new();
    for i in 0..8 {
        let base = if i % 2 == 0 { &a.base } else { &b.base };
        addresses.push(register_with_email(&http, base, &format!("queued{i}")).await);
    }
    tokio::time::sleep(Duration::from_secs(3)).await; // several failed attempts on both
    for address in &addresses {
        assert!(smtp.messages_to(address).is_empty());
    }

    smtp.start().await;
    each_received_once(&smtp, &addresses).await;
}

#[tokio::test]
async fn mail_queued_before_a_restart_is_delivered_once_by_the_next_process() {
    let mut smtp = Smtp::own().await;
    let dir = tempfile::tempdir().unwrap();
    let db_url = fresh_database(&dir).await;
    let env = [("SMTP_URL", smtp.url()), ("MAIL_RETRY_MAX", "1".to_string())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    smtp.stop().await;

    let mut first = start_instance(&db_url, &env).await;
    let http = reqwest::Client::new();
    let mut addresses = Vec::new();
    for i in 0..4 {
        addresses.push(register_with_email(&http, &first.base, &format!("restart{i}")).await);
    }
    first.child.kill().await.unwrap(); // SIGKILL: nothing flushed on the way out

    smtp.start().await;
    let _second = start_instance(&db_url, &env).await;
    each_received_once(&smtp, &addresses).await;
}
