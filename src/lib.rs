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

/// The WASM entry point: takes over the server-rendered page. Hydration is asynchronous
/// because a page loaded on demand (see `pages::on_demand`) must arrive before it can be
/// hydrated; the promise settles when the whole page is interactive.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub async fn hydrate() {
    console_error_panic_hook::set_once();
    // The server's pages always have a body; without one there is nothing to hydrate.
    let Some(body) = leptos::prelude::document().body() else {
        leptos::logging::error!("no <body> to hydrate");
        return;
    };
    leptos::mount::hydrate_from_async(body, app::App).await.forget();
}
