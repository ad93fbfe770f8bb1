//! Passkeys: added with the password, listed and removed on `/profile`'s server
//! functions, and a sign-in with no username and no second step. The browser side is a
//! software authenticator here (ES256, "none" attestation, as a platform authenticator
//! answers); Playwright drives Chromium's virtual one in `end2end/tests/passkeys.spec.ts`.

use crate::helpers::*;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};
use p256::{
    ecdsa::{signature::Signer, Signature, SigningKey},
    elliptic_curve::rand_core::RngCore,
};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Browsers refuse an IP address as relying party: these instances are a named site.
const ORIGIN: &str = "https://latch.test";
const RP_ID: &str = "latch.test";

async fn site() -> TestApp {
    spawn_app(&[("PUBLIC_ORIGIN", ORIGIN)]).await
}

/// One credential on a software authenticator: its key, its id, the user handle the
/// site gave it, and its signature counter.
struct SoftPasskey {
    key: SigningKey,
    id: Vec<u8>,
    user_handle: String,
    counter: u32,
}

impl SoftPasskey {
    fn new(user_handle: &str) -> Self {
        let mut id = vec![0u8; 32];
        p256::elliptic_curve::rand_core::OsRng.fill_bytes(&mut id);
        SoftPasskey {
            key: SigningKey::random(&mut p256::elliptic_curve::rand_core::OsRng),
            id,
            user_handle: user_handle.to_string(),
            counter: 0,
        }
    }

    /// `navigator.credentials.create`'s answer to `challenge`, as JSON.
    fn attest(&self, challenge: &str) -> String {
        let client_data = client_data("webauthn.create", challenge);
        let point = self.key.verifying_key().to_encoded_point(false);
        let cose_key = cbor_map(vec![
            (int(1), int(2)),  // kty: EC2
            (int(3), int(-7)), // alg: ES256
            (int(-1), int(1)), // crv: P-256
            (int(-2), bytes(point.x().unwrap())),
            (int(-3), bytes(point.y().unwrap())),
        ]);
        let mut auth_data = Sha256::digest(RP_ID.as_bytes()).to_vec();
        auth_data.push(0x01 | 0x04 | 0x40); // user present, user verified, credential data
        auth_data.extend(self.counter.to_be_bytes());
        auth_data.extend([0u8; 16]); // AAGUID
        auth_data.extend((self.id.len() as u16).to_be_bytes());
        auth_data.extend(&self.id);
        auth_data.extend(cose_key);
        let attestation = cbor_map(vec![
            (text("fmt"), text("none")),
            (text("attStmt"), cbor_map(vec![])),
            (text("authData"), bytes(&auth_data)),
        ]);
        json!({
            "id": B64.encode(&self.id),
            "rawId": B64.encode(&self.id),
            "type": "public-key",
            "response": {
                "attestationObject": B64.encode(attestation),
                "clientDataJSON": B64.encode(client_data),
            },
            "clientExtensionResults": {},
        })
        .to_string()
    }

    /// `navigator.credentials.get`'s answer to `challenge`, signed by `signer`.
    fn assert_with(&mut self, challenge: &str, signer: &SigningKey) -> String {
        self.counter += 1;
        let client_data = client_data("webauthn.get", challenge);
        let mut auth_data = Sha256::digest(RP_ID.as_bytes()).to_vec();
        auth_data.push(0x01 | 0x04);
        auth_data.extend(self.counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend(Sha256::digest(&client_data));
        let signature: Signature = signer.sign(&signed);
        json!({
            "id": B64.encode(&self.id),
            "rawId": B64.encode(&self.id),
            "type": "public-key",
            "response": {
                "authenticatorData": B64.encode(auth_data),
                "clientDataJSON": B64.encode(client_data),
                "signature": B64.encode(signature.to_der().as_bytes()),
                "userHandle": self.user_handle,
            },
            "clientExtensionResults": {},
        })
        .to_string()
    }

    fn assert(&mut self, challenge: &str) -> String {
        let key = self.key.clone();
        self.assert_with(challenge, &key)
    }
}

fn client_data(kind: &str, challenge: &str) -> Vec<u8> {
    json!({ "type": kind, "challenge": challenge, "origin": ORIGIN, "crossOrigin": false }).to_string().into_bytes()
}

// The little CBOR an authenticator writes: maps, integers, byte and text strings.
fn head(major: u8, n: u64) -> Vec<u8> {
    match n {
        0..=23 => vec![major << 5 | n as u8],
        24..=255 => vec![major << 5 | 24, n as u8],
        _ => [vec![major << 5 | 25], (n as u16).to_be_bytes().to_vec()].concat(),
    }
}
fn int(i: i64) -> Vec<u8> {
    if i >= 0 {
        head(0, i as u64)
    } else {
        head(1, (-1 - i) as u64)
    }
}
fn bytes(b: &[u8]) -> Vec<u8> {
    [head(2, b.len() as u64), b.to_vec()].concat()
}
fn text(t: &str) -> Vec<u8> {
    [head(3, t.len() as u64), t.as_bytes().to_vec()].concat()
}
fn cbor_map(entries: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<u8> {
    let mut out = head(5, entries.len() as u64);
    entries.into_iter().for_each(|(k, v)| out.extend([k, v].concat()));
    out
}

/// A ceremony begun: its id and the options the browser would get.
async fn begin(client: &TestApp, path: &str, form: &[(&str, &str)]) -> (String, Value) {
    let response = client.post_form(path, form).await;
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let body: Value = response.json().await.unwrap();
    let options: Value = serde_json::from_str(body["options"].as_str().unwrap()).unwrap();
    (body["ceremony"].as_str().unwrap().to_string(), options)
}

fn challenge(options: &Value) -> String {
    options["publicKey"]["challenge"].as_str().unwrap().to_string()
}

/// Adds a passkey named `name` to the signed-in `client`'s account.
async fn add_passkey(client: &TestApp, name: &str) -> SoftPasskey {
    add_passkey_with(client, name, &[]).await
}

/// Adds a passkey with more fields (a `code`, when TOTP is on).
async fn add_passkey_with(client: &TestApp, name: &str, more: &[(&str, &str)]) -> SoftPasskey {
    let mut form = vec![("name", name), ("password", PASSWORD)];
    form.extend_from_slice(more);
    let (ceremony, options) = begin(client, "/api/passkey_register_start", &form).await;
    let passkey = SoftPasskey::new(options["publicKey"]["user"]["id"].as_str().unwrap());
    let finished = client
        .post_form(
            "/api/passkey_register_finish",
            &[("ceremony", &ceremony), ("credential", &passkey.attest(&challenge(&options)))],
        )
        .await;
    assert_eq!(finished.status(), StatusCode::OK);
    passkey
}

/// A passkey sign-in from `client`: the finishing response.
async fn sign_in_with(client: &TestApp, passkey: &mut SoftPasskey) -> reqwest::Response {
    let (ceremony, options) = begin(client, "/api/passkey_login_start", &[]).await;
    let answer = passkey.assert(&challenge(&options));
    client.post_form("/api/passkey_login_finish", &[("ceremony", &ceremony), ("credential", &answer)]).await
}

async fn passkeys_of(client: &TestApp) -> Vec<Value> {
    let response = client.post_form("/api/passkeys", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json::<Value>().await.unwrap().as_array().unwrap().clone()
}

#[tokio::test]
async fn adding_a_passkey_asks_for_a_discoverable_credential_and_lists_it() {
    let app = site().await;
    app.register("keyholder", PASSWORD).await;
    let (_, options) = begin(&app, "/api/passkey_register_start", &[("name", "Laptop"), ("password", PASSWORD)]).await;
    let public_key = &options["publicKey"];
    assert_eq!(public_key["rp"]["id"], RP_ID, "the relying party is PUBLIC_ORIGIN's host");
    assert_eq!(public_key["authenticatorSelection"]["residentKey"], "required", "no username at sign-in");
    assert_eq!(public_key["authenticatorSelection"]["userVerification"], "required");

    add_passkey(&app, "Work laptop").await;
    let listed = passkeys_of(&app).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["name"], "Work laptop");
    assert!(listed[0]["created_at"].as_i64().unwrap() > 0);
    assert_eq!(listed[0]["last_used_at"], Value::Null, "never used yet");
    let account: Value = app.post_form("/api/account", &[]).await.json().await.unwrap();
    assert_eq!(account["passkeys"], 1);
}

#[tokio::test]
async fn adding_a_passkey_needs_the_password_and_a_name() {
    let app = site().await;
    app.register("keyholder", PASSWORD).await;
    let wrong =
        app.post_form("/api/passkey_register_start", &[("name", "Laptop"), ("password", "not it at all")]).await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert_eq!(wrong.json::<Value>().await.unwrap()["field"], "password");
    let unnamed = app.post_form("/api/passkey_register_start", &[("name", "  "), ("password", PASSWORD)]).await;
    assert_eq!(unnamed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(unnamed.json::<Value>().await.unwrap()["field"], "name");

    let anonymous = app.another_client("127.0.0.2");
    for path in ["/api/passkey_register_start", "/api/passkeys", "/api/remove_passkey"] {
        let response = anonymous.post_form(path, &[("name", "x"), ("password", PASSWORD), ("id", "x")]).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
}

#[tokio::test]
async fn a_registration_cannot_be_finished_twice_or_by_someone_else() {
    let app = site().await;
    app.register("keyholder", PASSWORD).await;
    let (ceremony, options) =
        begin(&app, "/api/passkey_register_start", &[("name", "Laptop"), ("password", PASSWORD)]).await;
    let passkey = SoftPasskey::new(options["publicKey"]["user"]["id"].as_str().unwrap());
    let answer = passkey.attest(&challenge(&options));

    let other = app.another_client("127.0.0.3");
    other.register("intruder", PASSWORD).await;
    let stolen =
        other.post_form("/api/passkey_register_finish", &[("ceremony", &ceremony), ("credential", &answer)]).await;
    assert_eq!(stolen.status(), StatusCode::BAD_REQUEST, "another account's ceremony");
    assert!(passkeys_of(&other).await.is_empty());

    let first =
        app.post_form("/api/passkey_register_finish", &[("ceremony", &ceremony), ("credential", &answer)]).await;
    assert_eq!(first.status(), StatusCode::OK);
    let again =
        app.post_form("/api/passkey_register_finish", &[("ceremony", &ceremony), ("credential", &answer)]).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert_eq!(again.json::<Value>().await.unwrap()["field"], "ceremony");
    assert_eq!(passkeys_of(&app).await.len(), 1);
}

#[tokio::test]
async fn an_answer_to_another_challenge_is_refused() {
    let app = site().await;
    app.register("keyholder", PASSWORD).await;
    let (ceremony, _) = begin(&app, "/api/passkey_register_start", &[("name", "Laptop"), ("password", PASSWORD)]).await;
    let passkey = SoftPasskey::new(&B64.encode([7u8; 16]));
    let answer = passkey.attest(&B64.encode([1u8; 32]));
    let refused =
        app.post_form("/api/passkey_register_finish", &[("ceremony", &ceremony), ("credential", &answer)]).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(refused.json::<Value>().await.unwrap()["field"], "credential");
    let garbage = app.post_form("/api/passkey_register_finish", &[("ceremony", "nope"), ("credential", "{")]).await;
    assert_eq!(garbage.status(), StatusCode::BAD_REQUEST);
    assert!(passkeys_of(&app).await.is_empty());
}

#[tokio::test]
async fn a_passkey_signs_in_with_no_username_and_no_second_step() {
    let app = site().await;
    // TOTP on: a passkey sign-in is complete by itself all the same.
    let (_, codes) = crate::totp::with_totp(&app, "keyholder").await;
    let mut passkey = add_passkey_with(&app, "Phone", &[("code", &codes[0])]).await;

    let browser = app.another_client("127.0.0.4");
    let response = sign_in_with(&browser, &mut passkey).await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookies = set_cookies(&response);
    assert!(cookie_named(&cookies, "jwt_access").is_some() && cookie_named(&cookies, "jwt_refresh").is_some());
    assert!(cookie_named(&cookies, "latch_mfa").is_none(), "no second step");
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["username"], "keyholder");
    assert_eq!(browser.current_user().await["username"], "keyholder");

    let sessions: Value = browser.post_form("/api/sessions", &[]).await.json().await.unwrap();
    let this = sessions.as_array().unwrap().iter().find(|s| s["current"] == true).unwrap().clone();
    assert_eq!(this["method"], "passkey");
    assert!(passkeys_of(&app).await[0]["last_used_at"].as_i64().is_some(), "last used is recorded");
}

#[tokio::test]
async fn a_sign_in_answer_is_accepted_once() {
    let app = site().await;
    app.register("keyholder", PASSWORD).await;
    let mut passkey = add_passkey(&app, "Phone").await;
    let browser = app.another_client("127.0.0.5");
    let (ceremony, options) = begin(&browser, "/api/passkey_login_start", &[]).await;
    let answer = passkey.assert(&challenge(&options));
    let form = [("ceremony", ceremony.as_str()), ("credential", answer.as_str())];
    assert_eq!(browser.post_form("/api/passkey_login_finish", &form).await.status(), StatusCode::OK);

    let thief = app.another_client("127.0.0.6");
    let replayed = thief.post_form("/api/passkey_login_finish", &form).await;
    assert_eq!(replayed.status(), StatusCode::BAD_REQUEST, "the ceremony is spent");
    assert!(thief.cookie("jwt_access").is_none());
    // The same answer under a fresh ceremony signs a challenge that is not this one.
    let (fresh, _) = begin(&thief, "/api/passkey_login_start", &[]).await;
    let replayed = thief.post_form("/api/passkey_login_finish", &[("ceremony", &fresh), ("credential", &answer)]).await;
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(replayed.json::<Value>().await.unwrap()["code"], "invalid_credentials");
    assert!(thief.cookie("jwt_access").is_none());
}

#[tokio::test]
async fn a_signature_by_another_key_is_refused() {
    let app = site().await;
    app.register("keyholder", PASSWORD).await;
    let mut passkey = add_passkey(&app, "Phone").await;
    let forger = SigningKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
    let browser = app.another_client("127.0.0.7");
    let (ceremony, options) = begin(&browser, "/api/passkey_login_start", &[]).await;
    let forged = passkey.assert_with(&challenge(&options), &forger);
    let refused =
        browser.post_form("/api/passkey_login_finish", &[("ceremony", &ceremony), ("credential", &forged)]).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookies(&refused).iter().all(|c| c.name != "jwt_access" || c.value.is_empty()));
    assert!(browser.current_user().await.is_null());
}

#[tokio::test]
async fn a_cloned_authenticator_whose_counter_falls_behind_is_refused() {
    let app = site().await;
    app.register("keyholder", PASSWORD).await;
    let mut passkey = add_passkey(&app, "Phone").await;
    let mut clone = SoftPasskey {
        key: passkey.key.clone(),
        id: passkey.id.clone(),
        user_handle: passkey.user_handle.clone(),
        counter: 0,
    };
    let browser = app.another_client("127.0.0.8");
    for _ in 0..3 {
        assert_eq!(sign_in_with(&browser, &mut passkey).await.status(), StatusCode::OK);
    }
    let copy = app.another_client("127.0.0.9");
    assert_eq!(sign_in_with(&copy, &mut clone).await.status(), StatusCode::UNAUTHORIZED, "counter 1 after 3");
}

#[tokio::test]
async fn a_removed_passkey_no_longer_signs_in_and_only_its_owner_removes_it() {
    let app = site().await;
    app.register("keyholder", PASSWORD).await;
    let mut passkey = add_passkey(&app, "Phone").await;
    let id = passkeys_of(&app).await[0]["id"].as_str().unwrap().to_string();

    let other = app.another_client("127.0.0.10");
    other.register("neighbour", PASSWORD).await;
    let foreign = other.post_form("/api/remove_passkey", &[("id", &id)]).await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    assert_eq!(passkeys_of(&app).await.len(), 1, "nothing happened");

    assert_eq!(app.post_form("/api/remove_passkey", &[("id", &id)]).await.status(), StatusCode::OK);
    assert!(passkeys_of(&app).await.is_empty());
    let browser = app.another_client("127.0.0.11");
    let refused = sign_in_with(&browser, &mut passkey).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(browser.current_user().await.is_null());
}

#[tokio::test]
async fn deleting_the_account_takes_its_passkeys() {
    let app = site().await;
    app.register("leaving", PASSWORD).await;
    let mut passkey = add_passkey(&app, "Phone").await;
    assert_eq!(app.post_form("/api/delete_account", &[("password", PASSWORD)]).await.status(), StatusCode::OK);
    let browser = app.another_client("127.0.0.12");
    assert_eq!(sign_in_with(&browser, &mut passkey).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn failed_passkey_sign_ins_are_throttled_by_address() {
    let app = spawn_app(&[("PUBLIC_ORIGIN", ORIGIN), ("THROTTLE_ADDRESS_FAILURES", "2")]).await;
    app.register("keyholder", PASSWORD).await;
    let mut stranger = SoftPasskey::new(&B64.encode([9u8; 16]));
    let attacker = app.another_client("127.0.0.13");
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let (ceremony, options) = match attacker.post_form("/api/passkey_login_start", &[]).await {
            r if r.status() == StatusCode::OK => {
                let body: Value = r.json().await.unwrap();
                (
                    body["ceremony"].as_str().unwrap().to_string(),
                    serde_json::from_str::<Value>(body["options"].as_str().unwrap()).unwrap(),
                )
            }
            r => {
                statuses.push(r.status());
                continue;
            }
        };
        let answer = stranger.assert(&challenge(&options));
        statuses.push(
            attacker
                .post_form("/api/passkey_login_finish", &[("ceremony", &ceremony), ("credential", &answer)])
                .await
                .status(),
        );
    }
    assert_eq!(statuses[0], StatusCode::UNAUTHORIZED);
    assert_eq!(*statuses.last().unwrap(), StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
}

#[tokio::test]
async fn a_site_on_an_ip_address_says_passkeys_need_a_name() {
    let app = spawn_app(&[]).await; // PUBLIC_ORIGIN empty: http://127.0.0.1:<port>
    let response = app.post_form("/api/passkey_login_start", &[]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let message = response.json::<Value>().await.unwrap()["message"].as_str().unwrap().to_string();
    assert!(message.contains("domain name"), "{message}");
}

#[tokio::test]
async fn a_password_reset_removes_every_passkey() {
    use crate::mailbox::*;
    let smtp = Smtp::shared_or_own().await;
    let app = spawn_app(&[("PUBLIC_ORIGIN", ORIGIN), ("SMTP_URL", &smtp.url())]).await;
    let email = unique_address("passkeyreset");
    let registered =
        app.post_form("/api/register", &[("username", "taken_back"), ("password", PASSWORD), ("email", &email)]).await;
    assert_eq!(registered.status(), StatusCode::OK);
    let token = |link: String| link.split("token=").nth(1).unwrap().to_string();
    let verify = token(smtp.wait_for(&email, 1).await[0].link("/verify-email").unwrap());
    assert_eq!(app.post_form("/api/verify_email", &[("token", &verify)]).await.status(), StatusCode::OK);
    // Whoever held the account planted a passkey; the owner takes it back by email.
    let mut planted = add_passkey(&app, "Not mine").await;

    let owner = app.another_client("127.0.0.14");
    assert_eq!(owner.post_form("/api/forgot_password", &[("login", "taken_back")]).await.status(), StatusCode::OK);
    let mails = smtp.wait_for(&email, 2).await;
    let reset = token(mails.iter().find_map(|m| m.link("/reset-password")).unwrap());
    let done = owner.post_form("/api/reset_password", &[("token", &reset), ("new_password", "a fresh secret")]).await;
    assert_eq!(done.status(), StatusCode::OK);

    assert!(passkeys_of(&owner).await.is_empty());
    let intruder = app.another_client("127.0.0.15");
    assert_eq!(sign_in_with(&intruder, &mut planted).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn adding_a_passkey_to_an_account_with_totp_needs_a_code() {
    // Before: the password alone added a passkey, which then signed in with no second step.
    let app = site().await;
    let (secret, _) = crate::totp::with_totp(&app, "guarded").await;
    let no_code = app.post_form("/api/passkey_register_start", &[("name", "Theirs"), ("password", PASSWORD)]).await;
    assert_eq!(no_code.status(), StatusCode::BAD_REQUEST);
    assert_eq!(no_code.json::<Value>().await.unwrap()["field"], "code");
    let wrong = app
        .post_form("/api/passkey_register_start", &[("name", "Theirs"), ("password", PASSWORD), ("code", "000000")])
        .await;
    assert_eq!(wrong.json::<Value>().await.unwrap()["field"], "code");
    let code = crate::totp::code(&secret, 30);
    begin(&app, "/api/passkey_register_start", &[("name", "Mine"), ("password", PASSWORD), ("code", &code)]).await;
}

#[tokio::test]
async fn the_owner_is_told_when_a_passkey_is_added() {
    // Before: a passkey planted with a borrowed session and the password went unseen.
    let smtp = crate::mailbox::Smtp::shared_or_own().await;
    let app = spawn_app(&[("PUBLIC_ORIGIN", ORIGIN), ("SMTP_URL", &smtp.url())]).await;
    let email = crate::mailbox::unique_address("noticing");
    let form = [("username", "noticing"), ("password", PASSWORD), ("email", email.as_str())];
    assert_eq!(app.post_form("/api/register", &form).await.status(), StatusCode::OK);
    let link = smtp.wait_for(&email, 1).await[0].link("/verify-email").unwrap();
    assert_eq!(app.get(link.trim_start_matches(ORIGIN)).await.status(), StatusCode::OK);
    add_passkey(&app, "Somebody's key").await;
    let mails = smtp.wait_for(&email, 2).await;
    let notice = mails
        .iter()
        .find(|m| m.header("Subject").unwrap_or_default().contains("passkey was added"))
        .expect("a notice of the new passkey");
    assert!(notice.decoded.contains("Somebody's key"), "{}", notice.decoded);
}
