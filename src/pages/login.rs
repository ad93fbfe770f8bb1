//! `/login`: the sign-in form. `?next=` is honoured for same-site paths only.

use super::forms::{CredentialFields, FormError};
use crate::{
    api::Login,
    app::AuthState,
    shared::{encode_query_value, safe_next, SignIn},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

#[component]
pub fn LoginPage() -> impl IntoView {
    let auth = expect_context::<AuthState>();
    let query = use_query_map();
    let next = Memo::new(move |_| safe_next(query.read().get("next").as_deref()));
    let login = ServerAction::<Login>::new();
    let navigate = use_navigate();
    Effect::new(move || match login.value().get() {
        Some(Ok(SignIn::User(user))) => {
            auth.user.set(Some(user));
            navigate(&next.get_untracked(), Default::default());
        }
        Some(Ok(SignIn::SecondFactor { .. })) => {
            navigate(&format!("/login/totp?next={}", encode_query_value(&next.get_untracked())), Default::default());
        }
        _ => {}
    });
    let error = Signal::derive(move || login.value().get().and_then(Result::err));

    view! {
        <Title text="Sign in · Latch" />
        <section class="card">
            <h1>"Sign in"</h1>
            <ActionForm action=login attr:class="form" attr:aria-label="Sign in">
                <input type="hidden" name="next" value=move || next.get() />
                <CredentialFields password_autocomplete="current-password" />
                <FormError submitted=error />
                <button type="submit" class="primary" disabled=move || login.pending().get()>
                    {move || if login.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
            </ActionForm>
            <p class="aside">
                <a href="/forgot-password">"Forgot your password?"</a>
            </p>
            <p class="aside">"No account yet? " <a href="/register">"Register"</a></p>
        </section>
    }
}
