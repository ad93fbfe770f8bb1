//! Two real `latch` processes on one database; one is killed with SIGKILL while clients
//! refresh through it. Every client carries on through the other, signed in.

use crate::helpers::*;
use std::time::Duration;

#[tokio::test]
async fn killing_an_instance_mid_refresh_loses_no_session() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = fresh_database(&dir).await;
    let mut a = start_instance(&db_url, &[]).await;
    let b = start_instance(&db_url, &[]).await;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();

    // Six users, each signed in through B.
    let mut clients = Vec::new();
    for i in 0..6 {
        let name = format!("survivor{i}");
        let response = http
            .post(format!("{}/api/register", b.base))
            .form(&[("username", name.as_str()), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        let refresh = cookie_named(&set_cookies(&response), "jwt_refresh").unwrap().value.clone();
        clients.push((name, refresh));
    }

    // Each client refreshes again and again, through A while A lives, else through B.
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|(name, mut refresh)| {
            let (http, a_base, b_base) = (http.clone(), a.base.clone(), b.base.clone());
            tokio::spawn(async move {
                let mut a_alive = true;
                let mut rounds_on_b_after_a = 0;
                for _ in 0..40 {
                    let base = if a_alive { &a_base } else { &b_base };
                    let sent = http
                        .post(format!("{base}/api/current_user"))
                        .header("cookie", format!("jwt_refresh={refresh}"))
                        .form(&[] as &[(&str, &str)])
                        .send()
                        .await;
                    let response = match sent {
                        Ok(response) => response,
                        Err(_) if a_alive => {
                            a_alive = false; // A is gone: the same cookie goes to B
                            continue;
                        }
                        Err(e) => panic!("{name}: B failed too: {e}"),
                    };
                    if let Some(c) = cookie_named(&set_cookies(&response), "jwt_refresh") {
                        assert_ne!(c.max_age(), Some(0), "{name}: cookies cleared");
                        refresh = c.value.clone();
                    }
                    let user: serde_json::Value = response.json().await.unwrap();
                    assert_eq!(user["username"], name.as_str(), "{name} stays signed in");
                    if !a_alive {
                        rounds_on_b_after_a += 1;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                (name, refresh, rounds_on_b_after_a)
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(300)).await;
    a.child.start_kill().expect("SIGKILL A");
    a.child.wait().await.unwrap();

    for task in tasks {
        let (name, refresh, rounds_on_b) = task.await.expect("a client failed");
        assert!(rounds_on_b > 0, "{name} went on through B");
        // The session is intact: its latest refresh token still works.
        let response = http
            .post(format!("{}/api/current_user", b.base))
            .header("cookie", format!("jwt_refresh={refresh}"))
            .form(&[] as &[(&str, &str)])
            .send()
            .await
            .unwrap();
        let user: serde_json::Value = response.json().await.unwrap();
        assert_eq!(user["username"], name.as_str());
    }
}
