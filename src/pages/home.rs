//! `/`: public.

use crate::app::AuthState;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn HomePage() -> impl IntoView {
    let auth = expect_context::<AuthState>();
    let query = use_query_map();
    let deleted = move || query.read().get("deleted").is_some() && auth.user.get().is_none();
    view! {
        <Show when=deleted>
            <p class="status" role="status" data-testid="deleted-status">
                "Your account has been deleted."
            </p>
        </Show>
        <section class="hero">
            <h1>"Latch"</h1>
            <p class="lede">
                "Sign-in for a Rust web app: short-lived access tokens and rotating refresh tokens in HttpOnly cookies, refreshed quietly on every request."
            </p>
            <p data-testid="home-status">
                {move || match auth.user.get() {
                    Some(user) => format!("You are signed in as {}.", user.username),
                    None => "You are not signed in.".to_string(),
                }}
            </p>
        </section>
    }
}
