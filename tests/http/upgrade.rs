//! A database written by an earlier Latch opens with today's code, and every account in
//! it still signs in, the second factor included. `tests/fixtures/upgrade.db` was made
//! by `tests/fixtures/make-upgrade-fixture.sh` and is kept as it is: a migration moved,
//! renamed or edited since would fail sqlx's checksums here. A SQLite file, so both
//! runs of the suite open it as SQLite.

use crate::{helpers::*, totp::code};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::{path::PathBuf, sync::Arc};

#[tokio::test]
async fn a_database_written_by_an_earlier_latch_opens_and_every_account_signs_in() {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let facts: Value = serde_json::from_str(&std::fs::read_to_string(fixtures.join("upgrade.json")).unwrap()).unwrap();
    let dir = Arc::new(tempfile::tempdir().unwrap());
    std::fs::copy(fixtures.join("upgrade.db"), dir.path().join("latch.db")).unwrap();
    let app = spawn_app_on(&format!("sqlite://{}/latch.db", dir.path().display()), dir.clone(), &[]).await;
    let password = facts["password"].as_str().unwrap();

    for name in facts["accounts"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()) {
        let client = app.another_client("127.0.0.61");
        let first = client.login(name, password).await;
        assert_eq!(first.status(), StatusCode::OK, "{name}");
        let body: Value = first.json().await.unwrap();
        if let Some(totp) = facts["totp"].get(name) {
            assert_eq!(body, json!({"second_factor": "totp"}), "{name}");
            let secret = totp["secret"].as_str().unwrap();
            let second = client.post_form("/api/login_totp", &[("code", &code(secret, 30))]).await;
            assert_eq!(second.status(), StatusCode::OK, "{name}: the stored secret still makes the codes");
            // A recovery code made by the earlier Latch is accepted once.
            let again = app.another_client("127.0.0.62");
            again.login(name, password).await;
            let recovery = totp["recovery_codes"][0].as_str().unwrap();
            assert_eq!(again.post_form("/api/login_totp", &[("code", recovery)]).await.status(), StatusCode::OK);
        } else {
            assert_eq!(body["username"], name);
        }
        let account: Value = client.post_form("/api/account", &[]).await.json().await.unwrap();
        assert_eq!(account["username"], name, "signed in as {name}");
        if let Some(email) = facts["verified"].get(name) {
            assert_eq!((&account["email"], &account["email_verified"]), (email, &json!(true)));
        }
    }
    // Names stay keyed as they were: the folded spelling finds the same account.
    assert_eq!(app.another_client("127.0.0.63").login("STRASSE", password).await.status(), StatusCode::OK);
}
