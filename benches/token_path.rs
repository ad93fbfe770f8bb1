//! The middleware's valid-token path (the `Cookie` header parsed, the access token's
//! header, signature and claims checked, the revocation set asked) against
//! `jsonwebtoken::decode` of the same token alone. Run by `make bench`; issue budget:
//! the path costs at most 1.3 × the decode.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use latch::server::{
    session::{
        cookies::CookiePolicy,
        keys::{Key, KeyRing},
        middleware::access_identity,
        revocation::Revoked,
        tokens::{Claims, TokenType, Tokens},
    },
    settings::Settings,
};
use std::sync::OnceLock;

const SECRET: &[u8] = b"a benchmark secret of thirty-two bytes!!";

struct Fixture {
    tokens: Tokens,
    revoked: Revoked,
    cookies: CookiePolicy,
    headers: axum::http::HeaderMap,
    token: String,
    decoding: DecodingKey,
    validation: Validation,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let settings = Settings::from_sources(None, |_| None).expect("default settings");
        let tokens = Tokens::new(KeyRing::single(Key::from_secret(SECRET)), 300, 604_800);
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
        let sid = "0b5c6f3e-8a51-4f0e-9d7a-3f2a1c9e4b77";
        let token = tokens
            .issue(TokenType::Access, "6f1d2c3b-4a59-4e8f-8b7c-1d2e3f4a5b6c", sid, "jti", Some("benchmark"), now)
            .unwrap();
        let refresh = tokens.issue(TokenType::Refresh, "u", sid, "jti2", None, now).unwrap();
        // What a browser sends: both session cookies and the device cookie.
        let mut headers = axum::http::HeaderMap::new();
        let cookie = format!("jwt_access={token}; jwt_refresh={refresh}; latch_device={refresh}");
        headers.insert(axum::http::header::COOKIE, cookie.parse().unwrap());
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        validation.set_issuer(&["latch"]);
        validation.set_audience(&["latch"]);
        Fixture {
            tokens,
            revoked: Revoked::new(300),
            cookies: CookiePolicy::from_settings(&settings),
            headers,
            token,
            decoding: DecodingKey::from_secret(SECRET),
            validation,
        }
    })
}

fn main() {
    fixture();
    divan::main();
}

#[divan::bench]
fn jsonwebtoken_decode_alone() -> Claims {
    let f = fixture();
    jsonwebtoken::decode::<Claims>(divan::black_box(&f.token), &f.decoding, &f.validation).unwrap().claims
}

#[divan::bench]
fn middleware_valid_token_path() -> String {
    let f = fixture();
    let presented = f.cookies.read(divan::black_box(&f.headers));
    access_identity(&f.tokens, &f.revoked, presented.access.as_deref()).unwrap().sid
}

/// The parts of the path, to see where its time goes.
#[divan::bench]
fn part_cookie_header_read() -> Option<String> {
    fixture().cookies.read(divan::black_box(&fixture().headers)).access
}

#[divan::bench]
fn part_token_verify() -> Claims {
    let f = fixture();
    f.tokens.verify(divan::black_box(&f.token), TokenType::Access).unwrap()
}
