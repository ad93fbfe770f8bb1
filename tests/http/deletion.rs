//! Deleting an account: with the password, every session ends, the personal data goes,
//! the name is free again, and the audit log keeps only that it happened.

use crate::{helpers::*, mailbox::*};
use reqwest::StatusCode;
use serde_json::json;
use sqlx::Row;

#[tokio::test]
async fn deleting_needs_the_password_then_erases_the_account_and_frees_the_name() {
    let smtp = Smtp::shared_or_own().await;
    let app = spawn_app(&[("SMTP_URL", &smtp.url())]).await;
    let email = unique_address("leaver");
    app.post_form("/api/register", &[("username", "Leaver"), ("password", PASSWORD), ("email", &email)]).await;
    let id = app.current_user().await["id"].as_str().unwrap().to_string();
    let elsewhere = app.another_client("127.0.0.8");
    elsewhere.login("leaver", PASSWORD).await;
    let other_refresh = elsewhere.cookie("jwt_refresh").unwrap();
    let own_refresh = app.cookie("jwt_refresh").unwrap();

    let wrong = app.post_form("/api/delete_account", &[("password", "not the password")]).await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert_eq!(wrong.json::<serde_json::Value>().await.unwrap()["field"], "password");
    assert_eq!(app.current_user().await["username"], "Leaver", "nothing happened");

    let deleted = app.post_form("/api/delete_account", &[("password", PASSWORD)]).await;
    assert_eq!(deleted.status(), StatusCode::OK);
    let cleared = set_cookies(&deleted);
    for name in ["jwt_access", "jwt_refresh"] {
        assert_eq!(cookie_named(&cleared, name).and_then(|c| c.max_age()), Some(0), "{name} cleared");
    }

    // Every session is over.
    for refresh in [own_refresh, other_refresh] {
        let client = app.another_client("127.0.0.9");
        client.set_cookie("jwt_refresh", &refresh);
        assert_eq!(client.current_user().await, json!(null));
    }
    assert_eq!(app.login("leaver", PASSWORD).await.status(), StatusCode::UNAUTHORIZED);

    // The personal data is gone; the events stay, without addresses or user agents.
    let mut db = database(&app).await;
    let users: i64 = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE id = $1")
        .bind(&id)
        .fetch_one(&mut db)
        .await
        .unwrap()
        .get("n");
    assert_eq!(users, 0);
    for table in ["sessions", "account_links"] {
        let n: i64 = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table} WHERE user_id = $1"))
            .bind(&id)
            .fetch_one(&mut db)
            .await
            .unwrap()
            .get("n");
        assert_eq!(n, 0, "{table}");
    }
    let events = sqlx::query("SELECT event, ip, user_agent FROM audit_events WHERE user_id = $1")
        .bind(&id)
        .fetch_all(&mut db)
        .await
        .unwrap();
    let names: Vec<String> = events.iter().map(|r| r.get::<String, _>("event")).collect();
    assert!(names.contains(&"register".to_string()) && names.contains(&"account_deleted".to_string()), "{names:?}");
    for row in &events {
        assert_eq!(row.get::<Option<String>, _>("ip"), None);
        assert_eq!(row.get::<Option<String>, _>("user_agent"), None);
    }
    let unsent: i64 = sqlx::query("SELECT COUNT(*) AS n FROM outbox WHERE recipient = $1")
        .bind(&email)
        .fetch_one(&mut db)
        .await
        .unwrap()
        .get("n");
    assert_eq!(unsent, 0, "no message keeps the address");

    // The name is free again, for someone else.
    assert_eq!(app.register("leaver", "someone else's password").await.status(), StatusCode::OK);
    assert_ne!(app.current_user().await["id"], json!(id));
}

#[tokio::test]
async fn without_javascript_deleting_lands_on_the_home_page_signed_out() {
    let app = spawn_app(&[]).await;
    app.register("quiet", PASSWORD).await;
    let wrong = app.post_html_form("/api/delete_account", &[("password", "nope nope")]).await;
    assert_eq!(wrong.status(), StatusCode::SEE_OTHER);
    assert_eq!(wrong.headers()["location"], "/profile?form=delete&error=wrong_password&field=password");
    let done = app.post_html_form("/api/delete_account", &[("password", PASSWORD)]).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(done.headers()["location"], "/?deleted=1");
    let home = app.get("/?deleted=1").await.text().await.unwrap();
    assert!(home.contains("Your account has been deleted."));
    assert!(home.contains(r#"href="/login""#), "signed out");
}
