//! Passkeys (WebAuthn, discoverable credentials): added on `/profile` with the password
//! (and a code with TOTP on; the owner is told),
//! listed with when each was made and last used, removed with a button; a sign-in on
//! `/login` with no username typed, complete by itself (the authenticator verified its
//! user: no TOTP step follows).
//!
//! Each ceremony is two requests: `begin_*` stores webauthn-rs's state (the challenge)
//! in `webauthn_ceremonies` for five minutes, and `finish_*` takes it back exactly once,
//! whichever instance the second request reaches. The relying party is
//! `PUBLIC_ORIGIN`'s host, never a request's `Host`.

use super::users;
use crate::{
    error::{AppError, ErrorCode},
    server::{
        audit::Event,
        db::{now, Db},
        guard::throttle::Scope,
        request::Request,
        session::sessions::Method,
    },
    shared::{PasskeyCeremony, PasskeyInfo, User},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use sqlx::Row;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Url,
    Uuid, Webauthn, WebauthnBuilder,
};
use webauthn_rs_proto::ResidentKeyRequirement;

/// Seconds a ceremony may take between its two requests.
const CEREMONY_LIFETIME: i64 = 300;
/// Characters in a passkey's name.
const NAME_MAX: usize = 64;

/// The site as a WebAuthn relying party; `None` when `origin`'s host is an IP address,
/// which browsers refuse as a relying party ID (serve under a name, e.g. `localhost`).
pub fn relying_party(origin: &str) -> Result<Option<Webauthn>, String> {
    let url = Url::parse(origin).map_err(|e| format!("PUBLIC_ORIGIN: {e}"))?;
    let host = url.host_str().ok_or("PUBLIC_ORIGIN: no host")?;
    if host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>().is_ok() {
        return Ok(None);
    }
    WebauthnBuilder::new(host, &url)
        .and_then(|builder| builder.rp_name("Latch").build())
        .map(Some)
        .map_err(|e| format!("PUBLIC_ORIGIN: not usable for passkeys: {e}"))
}

fn relying_party_of(request: &Request) -> Result<&Webauthn, AppError> {
    request.state.passkeys.as_deref().ok_or_else(|| {
        AppError::new(
            ErrorCode::Invalid,
            "passkeys need the site served under a domain name (PUBLIC_ORIGIN), not an IP address",
        )
    })
}

/// Starts adding a passkey named `name`: the password first, and with TOTP on a code
/// (a passkey signs in with no second step), so that a borrowed session cannot plant a
/// way back in.
pub async fn begin_registration(
    name: String,
    password: String,
    code: Option<String>,
) -> Result<PasskeyCeremony, AppError> {
    let request = Request::current()?;
    let identity = request.require_user()?;
    let name = valid_name(&name)?;
    let webauthn = relying_party_of(&request)?;
    request.confirm_password(identity, &password, AppError::wrong_password).await?;
    super::mfa::require_code(&request, &identity.user, code.as_deref()).await?;
    let db = &request.state.db;
    let handle = user_handle(&identity.user.id)?;
    // Not twice on one authenticator: it is asked to refuse the ones it already holds.
    let existing = stored(db, &identity.user.id).await?.into_iter().map(|(_, key)| key.cred_id().clone()).collect();
    let (mut options, state) = webauthn
        .start_passkey_registration(handle, &identity.user.username, &identity.user.username, Some(existing))
        .map_err(|e| {
            tracing::error!(error = %e, "starting a passkey registration failed");
            AppError::internal()
        })?;
    // Discoverable, so that signing in needs no username: webauthn-rs asks for a
    // server-side credential by default.
    if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
        selection.resident_key = Some(ResidentKeyRequirement::Required);
        selection.require_resident_key = true;
    }
    let ceremony = open(db, "register", Some(&identity.user.id), Some(&name), &state).await?;
    Ok(PasskeyCeremony { ceremony, options: to_json(&options)? })
}

/// Finishes adding a passkey with the browser's answer (`credential`, JSON).
pub async fn finish_registration(ceremony: String, credential: String) -> Result<PasskeyInfo, AppError> {
    let request = Request::current()?;
    let identity = request.require_user()?;
    let webauthn = relying_party_of(&request)?;
    let db = &request.state.db;
    let (state, name) =
        take::<PasskeyRegistration>(db, &ceremony, "register", Some(&identity.user.id)).await?.ok_or_else(expired)?;
    let answer: RegisterPublicKeyCredential = from_browser(&credential)?;
    let key = webauthn.finish_passkey_registration(&answer, &state).map_err(|e| {
        tracing::info!(error = %e, "a passkey registration did not check out");
        AppError::invalid("credential", "credential: the browser's answer did not check out; try again")
    })?;
    let info = PasskeyInfo {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.unwrap_or_default(),
        created_at: now(),
        last_used_at: None,
    };
    let inserted = sqlx::query(
        "INSERT INTO passkeys (id, user_id, credential_id, name, credential, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (credential_id) DO NOTHING",
    )
    .bind(&info.id)
    .bind(&identity.user.id)
    .bind(URL_SAFE_NO_PAD.encode(key.cred_id()))
    .bind(&info.name)
    .bind(to_json(&key)?)
    .bind(info.created_at)
    .execute(db)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(AppError::invalid("credential", "credential: this passkey is already registered"));
    }
    request.audit(Event::PasskeyAdded, Some(&identity.user.id), Some(&identity.sid)).await;
    super::notices::tell_owner(&request, &identity.user.id, super::notices::Notice::PasskeyAdded { name: &info.name })
        .await;
    Ok(info)
}

/// The caller's passkeys, oldest first.
pub async fn list() -> Result<Vec<PasskeyInfo>, AppError> {
    let request = Request::current()?;
    let identity = request.require_user()?;
    list_of(&request.state.db, &identity.user.id).await
}

/// A user's passkeys, oldest first.
pub async fn list_of(
    db: impl sqlx::Executor<'_, Database = sqlx::Any>,
    user_id: &str,
) -> Result<Vec<PasskeyInfo>, AppError> {
    let rows = sqlx::query(
        "SELECT id, name, created_at, last_used_at FROM passkeys WHERE user_id = $1 ORDER BY created_at, id",
    )
    .bind(user_id)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(PasskeyInfo {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                created_at: row.try_get("created_at")?,
                last_used_at: row.try_get("last_used_at")?,
            })
        })
        .collect()
}

/// Removes one of the caller's passkeys: `404` for an id that is not theirs.
pub async fn remove(id: String) -> Result<(), AppError> {
    let request = Request::current()?;
    let identity = request.require_user()?;
    let removed = sqlx::query("DELETE FROM passkeys WHERE id = $1 AND user_id = $2")
        .bind(&id)
        .bind(&identity.user.id)
        .execute(&request.state.db)
        .await?;
    if removed.rows_affected() == 0 {
        return Err(AppError::not_found("no such passkey"));
    }
    request.audit(Event::PasskeyRemoved, Some(&identity.user.id), Some(&identity.sid)).await;
    Ok(())
}

/// Starts a sign-in: a challenge any of the site's passkeys may sign.
pub async fn begin_sign_in() -> Result<PasskeyCeremony, AppError> {
    let request = Request::current()?;
    let webauthn = relying_party_of(&request)?;
    let (db, throttle, address) = (&request.state.db, &request.state.throttle, request.address());
    // Each ceremony is a row: a client address may start only so many.
    let checked = match throttle.check(db, Scope::Address, &address).await {
        Ok(()) => throttle.take(db, Scope::Ceremony, &address).await,
        blocked => blocked,
    };
    if let Err(blocked) = checked {
        return Err(request.refused(blocked, None).await);
    }
    let (mut options, state) = webauthn.start_discoverable_authentication().map_err(|e| {
        tracing::error!(error = %e, "starting a passkey sign-in failed");
        AppError::internal()
    })?;
    // webauthn-rs sets up autofill ("conditional") mediation; this sign-in is a button.
    options.mediation = None;
    let ceremony = open(db, "sign_in", None, None, &state).await?;
    Ok(PasskeyCeremony { ceremony, options: to_json(&options)? })
}

/// Finishes a sign-in with the browser's answer: a new session (method `passkey`).
/// A refused answer is `401` `invalid_credentials` and counts against the address.
pub async fn finish_sign_in(ceremony: String, credential: String) -> Result<User, AppError> {
    let request = Request::current()?;
    let webauthn = relying_party_of(&request)?;
    let (db, throttle) = (&request.state.db, &request.state.throttle);
    let address = request.address();
    if let Err(blocked) = throttle.check(db, Scope::Address, &address).await {
        return Err(request.refused(blocked, None).await);
    }
    let (state, _) = take::<DiscoverableAuthentication>(db, &ceremony, "sign_in", None).await?.ok_or_else(expired)?;
    let answer: PublicKeyCredential = from_browser(&credential)?;
    // Counted before the signature is checked, given back if it holds.
    if let Err(blocked) = throttle.attempt(db, Scope::Address, &address).await {
        return Err(request.refused(blocked, None).await);
    }
    let refused = || AppError::new(ErrorCode::InvalidCredentials, "this passkey was not accepted");
    // The answer names its user (the handle) and its credential; both must match a row.
    let named = webauthn
        .identify_discoverable_authentication(&answer)
        .map(|(handle, credential_id)| (handle.to_string(), URL_SAFE_NO_PAD.encode(credential_id)));
    let found = match named {
        Ok((user_id, credential_id)) => find(db, &user_id, &credential_id).await?.map(|(id, key)| (user_id, id, key)),
        Err(_) => None,
    };
    let checked = found.and_then(|(user_id, id, key)| {
        match webauthn.finish_discoverable_authentication_v2(&answer, state, &key) {
            Ok(result) => Some((user_id, id, key, result)),
            Err(e) => {
                tracing::info!(error = %e, "a passkey sign-in did not check out");
                None
            }
        }
    });
    let Some((user_id, id, mut key, result)) = checked else {
        request.audit(Event::LoginFailed, None, None).await;
        return Err(refused());
    };
    let Some(stored) = users::find_by_id(db, &user_id).await?.filter(|u| !u.disabled) else {
        return Err(refused());
    };
    // The signature counter moves on (a cloned authenticator would fall behind). A
    // passkey removed since it was read opens no session.
    key.update_credential(&result);
    let updated = sqlx::query("UPDATE passkeys SET credential = $1, last_used_at = $2 WHERE id = $3")
        .bind(to_json(&key)?)
        .bind(now())
        .bind(&id)
        .execute(db)
        .await?;
    if updated.rows_affected() == 0 {
        return Err(refused());
    }
    throttle.forgive(db, Scope::Address, &address).await?;
    let sid = request.sign_in(&stored.user, Method::Passkey).await?;
    request.audit(Event::LoginSucceeded, Some(&stored.user.id), Some(&sid)).await;
    tracing::info!(user = %stored.user.id, "logged in with a passkey");
    Ok(stored.user)
}

/// Every passkey of a user (a password reset takes the account back).
pub async fn remove_all(conn: &mut sqlx::AnyConnection, user_id: &str) -> Result<u64, AppError> {
    let removed = sqlx::query("DELETE FROM passkeys WHERE user_id = $1").bind(user_id).execute(conn).await?;
    Ok(removed.rows_affected())
}

fn valid_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::invalid("name", "name: give the passkey a name, such as the device it is on"));
    }
    if name.chars().count() > NAME_MAX || name.chars().any(char::is_control) {
        return Err(AppError::invalid("name", format!("name: at most {NAME_MAX} characters, on one line")));
    }
    Ok(name.to_string())
}

/// The WebAuthn user handle: the account's id (random, no personal data in it).
fn user_handle(user_id: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(user_id).map_err(|_| {
        tracing::error!(user = %user_id, "a user id that is not a UUID");
        AppError::internal()
    })
}

fn expired() -> AppError {
    AppError::invalid("ceremony", "this passkey request expired or was already used; try again")
}

fn to_json(value: &impl serde::Serialize) -> Result<String, AppError> {
    serde_json::to_string(value).map_err(|_| AppError::internal())
}

fn from_browser<T: serde::de::DeserializeOwned>(credential: &str) -> Result<T, AppError> {
    serde_json::from_str(credential)
        .map_err(|_| AppError::invalid("credential", "credential: not an answer from a browser's passkey prompt"))
}

/// A ceremony's state kept for its second request; returns its id. Ceremonies that
/// expired unfinished are swept here, so the table holds five minutes' worth at most.
async fn open(
    db: &Db,
    purpose: &str,
    user_id: Option<&str>,
    name: Option<&str>,
    state: &impl serde::Serialize,
) -> Result<String, AppError> {
    let now = now();
    sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at < $1").bind(now).execute(db).await?;
    let id = uuid::Uuid::new_v4().to_string();
    sqlx::query(
        "INSERT INTO webauthn_ceremonies (id, purpose, user_id, name, state, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(purpose)
    .bind(user_id)
    .bind(name)
    .bind(to_json(state)?)
    .bind(now + CEREMONY_LIFETIME)
    .execute(db)
    .await?;
    Ok(id)
}

/// Takes a live ceremony back, once: a second answer to one challenge finds nothing.
async fn take<T: serde::de::DeserializeOwned>(
    db: &Db,
    id: &str,
    purpose: &str,
    user_id: Option<&str>,
) -> Result<Option<(T, Option<String>)>, AppError> {
    let row = sqlx::query(
        "DELETE FROM webauthn_ceremonies WHERE id = $1 AND purpose = $2 AND expires_at >= $3 \
         AND COALESCE(user_id, '') = COALESCE($4, '') RETURNING state, name",
    )
    .bind(id)
    .bind(purpose)
    .bind(now())
    .bind(user_id)
    .fetch_optional(db)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let state: String = row.try_get("state")?;
    let state = serde_json::from_str(&state).map_err(|_| AppError::internal())?;
    Ok(Some((state, row.try_get("name")?)))
}

/// A user's passkeys as webauthn-rs reads them, with their row ids.
async fn stored(db: &Db, user_id: &str) -> Result<Vec<(String, Passkey)>, AppError> {
    let rows =
        sqlx::query("SELECT id, credential FROM passkeys WHERE user_id = $1").bind(user_id).fetch_all(db).await?;
    rows.iter().map(keyed).collect()
}

/// The passkey an answer names, if it is the named user's.
async fn find(db: &Db, user_id: &str, credential_id: &str) -> Result<Option<(String, Passkey)>, AppError> {
    let row = sqlx::query("SELECT id, credential FROM passkeys WHERE user_id = $1 AND credential_id = $2")
        .bind(user_id)
        .bind(credential_id)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(keyed).transpose()
}

/// A `passkeys` row's id and its stored credential.
fn keyed(row: &sqlx::any::AnyRow) -> Result<(String, Passkey), AppError> {
    let credential: String = row.try_get("credential")?;
    let key = serde_json::from_str(&credential).map_err(|_| AppError::internal())?;
    Ok((row.try_get("id")?, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relying_party_is_the_origin_host() {
        assert!(relying_party("http://localhost:3000").unwrap().is_some());
        assert!(relying_party("https://auth.example.com").unwrap().is_some());
    }

    #[test]
    fn an_ip_address_cannot_be_a_relying_party() {
        assert!(relying_party("http://127.0.0.1:3000").unwrap().is_none());
        assert!(relying_party("http://[::1]:3000").unwrap().is_none());
    }

    #[test]
    fn a_passkey_needs_a_short_one_line_name() {
        assert_eq!(valid_name("  Laptop  ").unwrap(), "Laptop");
        assert_eq!(valid_name("").unwrap_err().field.as_deref(), Some("name"));
        assert_eq!(valid_name(&"x".repeat(65)).unwrap_err().field.as_deref(), Some("name"));
        assert_eq!(valid_name("two\nlines").unwrap_err().field.as_deref(), Some("name"));
    }
}
