//! The parsing path of every request: a `Cookie` header → the two cookies → token →
//! claims, exactly as the middleware runs it (minus the database). Whatever the bytes,
//! it must answer, never panic.

#![no_main]

use latch::server::session::{
    cookies::CookiePolicy,
    keys::{Key, KeyRing},
    tokens::{TokenType, Tokens},
};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static POLICY: LazyLock<CookiePolicy> = LazyLock::new(|| CookiePolicy {
    access_name: "jwt_access".into(),
    refresh_name: "jwt_refresh".into(),
    secure: true,
    access_max_age: 300,
    refresh_max_age: 604_800,
});

static TOKENS: LazyLock<Tokens> =
    LazyLock::new(|| Tokens::new(KeyRing::single(Key::from_secret(b"fuzzing-key-fuzzing-key-fuzzing!")), 300, 604_800));

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for typ in [TokenType::Access, TokenType::Refresh] {
            let _ = TOKENS.verify(text, typ);
        }
    }
    let Ok(value) = http::HeaderValue::from_bytes(data) else { return };
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::COOKIE, value);
    let presented = POLICY.read(&headers);
    let (access, refresh) = (presented.access, presented.refresh);
    if let Some(token) = access {
        let _ = TOKENS.verify(&token, TokenType::Access);
    }
    if let Some(token) = refresh {
        let _ = TOKENS.verify(&token, TokenType::Refresh);
    }
});
