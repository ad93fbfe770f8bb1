//! Latch: JWT cookie authentication for a Leptos app on axum.
//!
//! Read it in the order a request flows. On the server (`server/`): `settings` and `db`,
//! then `session/` (keys → tokens → cookies → middleware → sessions), `guard/` (cross-site
//! refusal, throttling, protective headers) and `account/` (what the server functions
//! do); then the server functions (`api.rs`) and the pages (`app.rs`, `pages/`), which
//! the browser hydrates. `error.rs` and `shared.rs` hold what both sides of the wire need.

pub mod api;
pub mod app;
pub mod error;
pub mod pages;
pub mod shared;

#[cfg(feature = "ssr")]
pub mod server;

/// The WASM entry point: takes over the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
