//! An app's own migrations live in Latch's database beside Latch's: sqlx keeps one
//! `_sqlx_migrations` table per database, so each migrator must let the other's
//! versions be (`set_ignore_missing`), and the versions must not collide (Latch's are
//! small numbers, an app's `sqlx migrate add` timestamps).

use crate::helpers::*;
use reqwest::StatusCode;

#[tokio::test]
async fn latch_starts_on_a_database_that_holds_an_apps_own_migrations() {
    let app = spawn_app(&[]).await;
    app.register("before", PASSWORD).await;

    // The app migrates the same database with a migrator of its own.
    let source = tempfile::tempdir().unwrap();
    std::fs::write(
        source.path().join("20270101120000_notes.sql"),
        "CREATE TABLE notes (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, text TEXT NOT NULL);",
    )
    .unwrap();
    let mut notes = sqlx::migrate::Migrator::new(source.path()).await.unwrap();
    notes.set_ignore_missing(true); // Latch's versions are not the app's business
    let mut db = database(&app).await;
    notes.run(&mut db).await.expect("the app's migration runs beside Latch's");

    // Latch starts again on it (a restart, or another instance) and serves as before.
    let again = spawn_peer(&app, &[]).await;
    assert_eq!(again.login("before", PASSWORD).await.status(), StatusCode::OK);
    let table = count(&app, "SELECT COUNT(*) AS n FROM notes").await;
    assert_eq!(table, 0, "the app's table is there, untouched");
    notes.run(&mut db).await.expect("and the app's migrator still accepts the database");
}
