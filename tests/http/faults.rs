//! The database going away and coming back, on PostgreSQL (behind a relay the test can
//! cut). On SQLite the database is a file beside the process and cannot go down alone;
//! these tests say so and pass there, and `make test` runs them on PostgreSQL.

use crate::helpers::*;
use reqwest::StatusCode;

#[tokio::test]
async fn with_the_database_down_signed_in_users_browse_refresh_waits_and_all_recovers() {
    if postgres_admin().is_none() {
        eprintln!("skipped on SQLite: runs on PostgreSQL (LATCH_TEST_POSTGRES)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db_url = fresh_database(&dir).await;
    let (target, _) = through_proxy(&db_url, 0);
    let proxy = Proxy::start(target).await;
    let (_, via_proxy) = through_proxy(&db_url, proxy.port);
    let app = spawn_app_with_database(&via_proxy, &[("ACCESS_TOKEN_LIFETIME", "3")]).await;
    app.register("steady", PASSWORD).await;
    let before = app.cookie("jwt_refresh").unwrap();

    proxy.cut();

    // A valid access token needs no database: pages and the API still answer.
    let home = app.get("/").await;
    assert_eq!(home.status(), StatusCode::OK);
    assert!(home.text().await.unwrap().contains("steady"));
    assert_eq!(app.current_user().await["username"], "steady");
    assert_eq!(app.get("/healthz").await.status(), StatusCode::SERVICE_UNAVAILABLE);

    // Signing in needs the database: a clear 503.
    let login = app.http.post(format!("{}/api/login", app.base)).form(&[("username", "x1y"), ("password", PASSWORD)]);
    let response = login.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "unavailable");

    // Past the access lifetime a refresh is due: 503, and the cookies are left alone.
    outlive(3).await;
    let response = app.post_form("/api/current_user", &[]).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    assert!(set_cookies(&response).is_empty(), "nothing cleared while the database is away");
    assert_eq!(app.cookie("jwt_refresh").unwrap(), before);

    // The database returns; no restart, and the user refreshes as if nothing happened.
    proxy.restore();
    assert_eq!(app.current_user().await["username"], "steady");
    assert_ne!(app.cookie("jwt_refresh").unwrap(), before, "rotated");
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
}
