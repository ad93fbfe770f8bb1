//! Several instances on one database: stateless access tokens verify anywhere, and
//! rotation stays atomic across instances. Runs on SQLite (one file, two servers) and
//! on PostgreSQL.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;

const SHORT: &[(&str, &str)] = &[("ACCESS_TOKEN_LIFETIME", "1")];

#[tokio::test]
async fn two_instances_share_users_keys_and_sessions() {
    let a = spawn_app(SHORT).await;
    let b = spawn_peer(&a, SHORT).await;

    a.register("shared", PASSWORD).await;
    let (access, refresh) = (a.cookie("jwt_access").unwrap(), a.cookie("jwt_refresh").unwrap());

    // A's access cookie on B: verified without asking anyone.
    b.set_cookie("jwt_access", &access);
    assert_eq!(b.current_user().await["username"], "shared");

    // B refreshes the session A opened.
    outlive(1).await;
    b.set_cookie("jwt_refresh", &refresh);
    assert_eq!(b.current_user().await["username"], "shared");
    let rotated = b.cookie("jwt_refresh").unwrap();
    assert_ne!(claims(&rotated)["jti"], claims(&refresh)["jti"]);

    // Logout on A, with B's cookies; then B refuses the old refresh cookie.
    a.forget_cookies();
    a.set_cookie("jwt_access", &b.cookie("jwt_access").unwrap());
    assert_eq!(a.post_form("/api/logout", &[]).await.status(), StatusCode::OK);
    outlive(1).await;
    b.forget_cookies();
    b.set_cookie("jwt_refresh", &rotated);
    assert_eq!(b.current_user().await, json!(null));
}

#[tokio::test]
async fn parallel_refreshes_split_across_instances_rotate_once() {
    let a = spawn_app(SHORT).await;
    let b = spawn_peer(&a, SHORT).await;
    a.register("splitter", PASSWORD).await;
    let refresh = a.cookie("jwt_refresh").unwrap();
    outlive(1).await;

    let handles: Vec<_> = (0..8)
        .map(|i| {
            let base = if i % 2 == 0 { a.base.clone() } else { b.base.clone() };
            let request = a
                .http
                .post(format!("{base}/api/current_user"))
                .header("cookie", format!("jwt_refresh={refresh}"))
                .form(&[] as &[(&str, &str)]);
            tokio::spawn(async move {
                let response = request.send().await.unwrap();
                let cookies = set_cookies(&response);
                (response.json::<serde_json::Value>().await.unwrap(), cookies)
            })
        })
        .collect();
    let mut jtis = std::collections::BTreeSet::new();
    for handle in handles {
        let (user, cookies) = handle.await.unwrap();
        assert_eq!(user["username"], "splitter", "nobody is logged out");
        let cookie = cookie_named(&cookies, "jwt_refresh").expect("a refresh cookie for everyone");
        jtis.insert(claims(&cookie.value)["jti"].as_str().unwrap().to_string());
    }
    assert_eq!(jtis.len(), 1, "exactly one rotation across both instances");
}

#[tokio::test]
async fn instances_starting_at_once_on_an_empty_database_share_one_key() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let db_url = fresh_database(&dir).await;
    let (first, second, third) = tokio::join!(
        spawn_app_on(&db_url, dir.clone(), &[]),
        spawn_app_on(&db_url, dir.clone(), &[]),
        spawn_app_on(&db_url, dir.clone(), &[]),
    );
    first.register("early", PASSWORD).await;
    let access = first.cookie("jwt_access").unwrap();
    for other in [&second, &third] {
        other.set_cookie("jwt_access", &access);
        assert_eq!(other.current_user().await["username"], "early", "one key, whoever started first");
    }
}
