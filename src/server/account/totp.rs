//! A second factor: TOTP (RFC 6238: SHA-1, 6 digits, 30 s steps, the previous and the
//! next step accepted) and ten single-use recovery codes. A code is accepted once: the
//! last accepted step is stored and only a later one passes. The secret is set up
//! pending and turned on by a first correct code (which counts as used).

use crate::{
    error::AppError,
    server::db::{now, Db},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;
use totp_rs::{Algorithm, Secret, TOTP};

const STEP: i64 = 30;
pub const ISSUER: &str = "Latch";

/// The authenticator for `secret` (base32), labelled with the account's name.
fn authenticator(secret: &str, account: &str) -> Result<TOTP, AppError> {
    let bytes = Secret::Encoded(secret.to_string()).to_bytes().map_err(|_| AppError::internal())?;
    // A name cannot hold ':' (the username rules forbid it), which otpauth labels refuse.
    TOTP::new(Algorithm::SHA1, 6, 1, STEP as u64, bytes, Some(ISSUER.to_string()), account.to_string())
        .map_err(|_| AppError::internal())
}

/// A fresh secret (160 bits, as RFC 4226 recommends), base32.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    Secret::Raw(bytes.to_vec()).to_encoded().to_string()
}

/// The `otpauth://totp/…` URI an authenticator app scans.
pub fn uri(secret: &str, account: &str) -> Result<String, AppError> {
    Ok(authenticator(secret, account)?.get_url())
}

/// A pending setup as `/profile` shows it: the secret, its URI, and the URI's QR code.
pub fn pending(secret: String, account: &str) -> Result<crate::shared::TotpPending, AppError> {
    let uri = uri(&secret, account)?;
    Ok(crate::shared::TotpPending { qr_svg: qr_svg(&uri)?, uri, secret })
}

/// The URI as a QR code, an SVG drawn here: no external service, no script.
pub fn qr_svg(uri: &str) -> Result<String, AppError> {
    let code = qrcode::QrCode::new(uri.as_bytes()).map_err(|_| AppError::internal())?;
    Ok(code.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).quiet_zone(true).build())
}

/// The step (`unix time / 30`) whose code `code` is, among the previous, the current and
/// the next one; `None` if none matches.
fn matching_step(totp: &TOTP, code: &str, now: i64) -> Option<i64> {
    let code = code.trim().replace(' ', "");
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    (-1..=1)
        .map(|offset| now / STEP + offset)
        .find(|step| constant_time_eq(&totp.generate((step * STEP) as u64), &code))
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub struct Stored {
    pub secret: String,
    pub enabled: bool,
}

pub async fn stored(
    db: impl sqlx::Executor<'_, Database = sqlx::Any>,
    user_id: &str,
) -> Result<Option<Stored>, AppError> {
    let row =
        sqlx::query("SELECT secret, enabled_at FROM totp WHERE user_id = $1").bind(user_id).fetch_optional(db).await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Stored { secret: row.try_get("secret")?, enabled: row.try_get::<Option<i64>, _>("enabled_at")?.is_some() }))
}

pub async fn is_enabled(db: &Db, user_id: &str) -> Result<bool, AppError> {
    Ok(stored(db, user_id).await?.is_some_and(|s| s.enabled))
}

/// Starts a setup, or restarts one the owner asked to: a new pending secret, replacing
/// a pending one (never one that is on).
pub async fn begin_setup(db: &Db, user_id: &str) -> Result<String, AppError> {
    let secret = new_secret();
    let written = sqlx::query(
        "INSERT INTO totp (user_id, secret, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET secret = $4, last_step = 0, created_at = $5 \
         WHERE totp.enabled_at IS NULL",
    )
    .bind(user_id)
    .bind(&secret)
    .bind(now())
    .bind(&secret)
    .bind(now())
    .execute(db)
    .await?;
    if written.rows_affected() == 0 {
        return Err(AppError::invalid("code", "code: two-factor sign-in is already on"));
    }
    Ok(secret)
}

/// Accepts `code` for the user's secret (pending or on) if it matches a step later than
/// the last accepted one, and records that step, atomically: a code is accepted once.
pub async fn accept_code(db: &Db, user_id: &str, account: &str, code: &str) -> Result<bool, AppError> {
    let Some(stored) = stored(db, user_id).await? else { return Ok(false) };
    let Some(step) = matching_step(&authenticator(&stored.secret, account)?, code, now()) else { return Ok(false) };
    let spent = sqlx::query("UPDATE totp SET last_step = $1 WHERE user_id = $2 AND last_step < $3")
        .bind(step)
        .bind(user_id)
        .bind(step)
        .execute(db)
        .await?;
    Ok(spent.rows_affected() == 1)
}

fn hash(code: &str) -> String {
    let normal: String = code.trim().to_ascii_lowercase().chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    hex::encode(Sha256::digest(normal.as_bytes()))
}

/// Turns the pending secret on and returns ten new recovery codes (shown once).
pub async fn enable(db: &Db, user_id: &str) -> Result<Vec<String>, AppError> {
    let codes: Vec<String> = (0..10)
        .map(|_| {
            let mut bytes = [0u8; 10];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let text = URL_SAFE_NO_PAD.encode(bytes).to_ascii_lowercase().replace(['-', '_'], "x");
            format!("{}-{}", &text[..6], &text[6..12])
        })
        .collect();
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE totp SET enabled_at = $1 WHERE user_id = $2")
        .bind(now())
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
    for code in &codes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user_id)
            .bind(hash(code))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(codes)
}

/// Spends a recovery code, once.
pub async fn spend_recovery_code(db: &Db, user_id: &str, code: &str) -> Result<bool, AppError> {
    let spent =
        sqlx::query("UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL")
            .bind(now())
            .bind(user_id)
            .bind(hash(code))
            .execute(db)
            .await?;
    Ok(spent.rows_affected() == 1)
}

/// How many of the user's recovery codes are still unused.
pub async fn recovery_codes_left(db: &Db, user_id: &str) -> Result<i64, AppError> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id)
        .fetch_one(db)
        .await?;
    Ok(row.try_get("n")?)
}

pub async fn disable(db: &Db, user_id: &str) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM totp WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

/// A sign-in waiting for its second step: one row per `latch_mfa` cookie.
pub async fn open_challenge(db: &Db, user_id: &str, lifetime: i64) -> Result<String, AppError> {
    let id = uuid::Uuid::new_v4().to_string();
    sqlx::query("INSERT INTO mfa_challenges (id, user_id, expires_at) VALUES ($1, $2, $3)")
        .bind(&id)
        .bind(user_id)
        .bind(now() + lifetime)
        .execute(db)
        .await?;
    Ok(id)
}

/// Whether the challenge is open (unexpired, unspent) for `user_id`.
pub async fn challenge_open(db: &Db, id: &str, user_id: &str) -> Result<bool, AppError> {
    let row = sqlx::query(
        "SELECT 1 AS open FROM mfa_challenges WHERE id = $1 AND user_id = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(id)
    .bind(user_id)
    .bind(now())
    .fetch_optional(db)
    .await?;
    Ok(row.is_some())
}

/// Spends the challenge: true once.
pub async fn close_challenge(db: &Db, id: &str) -> Result<bool, AppError> {
    let spent =
        sqlx::query("UPDATE mfa_challenges SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND expires_at > $3")
            .bind(now())
            .bind(id)
            .bind(now())
            .execute(db)
            .await?;
    Ok(spent.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totp() -> TOTP {
        authenticator("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "ada").unwrap()
    }

    #[test]
    fn the_previous_current_and_next_steps_are_accepted_and_no_other() {
        let t = totp();
        let now = 1_800_000_015; // 15 s into a step
        let step = now / STEP;
        for offset in -1..=1 {
            let code = t.generate(((step + offset) * STEP) as u64);
            assert_eq!(matching_step(&t, &code, now), Some(step + offset), "offset {offset}");
        }
        for offset in [-2, 2] {
            let code = t.generate(((step + offset) * STEP) as u64);
            assert_eq!(matching_step(&t, &code, now), None, "offset {offset}");
        }
        assert_eq!(matching_step(&t, "12345", now), None);
        assert_eq!(matching_step(&t, "abcdef", now), None);
    }

    #[test]
    fn rfc_6238_test_vector() {
        // RFC 6238 appendix B, SHA-1, T = 59 s, truncated to 6 digits.
        let t = TOTP::new(Algorithm::SHA1, 6, 1, 30, b"12345678901234567890".to_vec(), None, String::new()).unwrap();
        assert_eq!(t.generate(59), "287082");
        assert_eq!(t.generate(1_111_111_109), "081804");
    }

    #[test]
    fn the_uri_names_the_issuer_and_carries_the_secret() {
        let secret = new_secret();
        let uri = uri(&secret, "ada").unwrap();
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(uri.contains(&format!("secret={secret}")) && uri.contains("issuer=Latch"), "{uri}");
        assert!(qr_svg(&uri).unwrap().starts_with("<?xml"));
    }

    #[test]
    fn recovery_codes_are_compared_by_digest_whatever_the_case() {
        assert_eq!(hash("ABCDEF-ghijkl"), hash(" abcdef-ghijkl "));
        assert_ne!(hash("abcdef-ghijkl"), hash("abcdef-ghijkm"));
    }
}
