//! Key rotation across instances: a new key is known everywhere before it signs, and
//! tokens signed by the old one keep working until they expire.

use crate::helpers::*;
use reqwest::StatusCode;

#[tokio::test]
async fn rotating_the_keys_signs_nobody_out() {
    let settings = [("KEY_PROPAGATION", "2"), ("ACCESS_TOKEN_LIFETIME", "1")];
    let a = spawn_app(&settings).await;
    let b = spawn_peer(&a, &settings).await;
    a.register("early", PASSWORD).await;
    let early_refresh = a.cookie("jwt_refresh").unwrap();
    let old_kid = header_of(&early_refresh)["kid"].clone();

    let rotated = run_cli(&a, &settings, &["keys", "rotate"]).await;
    assert!(rotated.status.success(), "{}", String::from_utf8_lossy(&rotated.stderr));
    assert!(String::from_utf8_lossy(&rotated.stdout).contains("new signing key"));

    // Past the propagation time, tokens are signed with the new key...
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    let late = b.another_client("127.0.0.1");
    assert_eq!(late.register("late", PASSWORD).await.status(), StatusCode::OK);
    let new_kid = header_of(&late.cookie("jwt_access").unwrap())["kid"].clone();
    assert_ne!(new_kid, old_kid, "the new key signs");

    // ...which the other instance verifies,
    let on_a = a.another_client("127.0.0.1");
    on_a.set_cookie("jwt_access", &late.cookie("jwt_access").unwrap());
    assert_eq!(on_a.current_user().await["username"], "late");

    // ...and a session signed by the old key still refreshes, now under the new one.
    a.forget_cookies();
    a.set_cookie("jwt_refresh", &early_refresh);
    assert_eq!(a.current_user().await["username"], "early");
    assert_eq!(header_of(&a.cookie("jwt_refresh").unwrap())["kid"], new_kid);
}

#[tokio::test]
async fn rotation_is_refused_when_the_key_comes_from_jwt_secret() {
    let app = spawn_app(&[]).await;
    let out = run_cli(&app, &[("JWT_SECRET", "a-configured-secret-of-32-bytes-or-more")], &["keys", "rotate"]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("JWT_SECRET"));
}

#[tokio::test]
async fn an_eddsa_deployment_publishes_keys_that_verify_its_access_tokens() {
    let app = spawn_app(&[("JWT_ALGORITHM", "EdDSA")]).await;
    app.register("federated", PASSWORD).await;
    let access = app.cookie("jwt_access").unwrap();
    assert_eq!(header_of(&access)["alg"], "EdDSA");
    assert_eq!(app.current_user().await["username"], "federated");

    // Another service fetches the key set and verifies the token on its own.
    let jwks: serde_json::Value = app.get("/.well-known/jwks.json").await.json().await.unwrap();
    let kid = header_of(&access)["kid"].clone();
    let jwk = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid).expect("the signing key is published");
    assert_eq!(jwk["kty"], "OKP");
    let key = jsonwebtoken::DecodingKey::from_ed_components(jwk["x"].as_str().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&["latch"]);
    validation.set_issuer(&["latch"]);
    let verified = jsonwebtoken::decode::<serde_json::Value>(&access, &key, &validation).expect("verifies");
    assert_eq!(verified.claims["name"], "federated");
}

#[tokio::test]
async fn an_hs256_deployment_publishes_no_keys() {
    let app = spawn_app(&[]).await;
    let jwks: serde_json::Value = app.get("/.well-known/jwks.json").await.json().await.unwrap();
    assert_eq!(jwks, serde_json::json!({"keys": []}));
}
