//! `/register`: create an account, signed in at once.

use super::forms::{CredentialFields, FormError};
use crate::{api::Register, app::AuthState};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

#[component]
pub fn RegisterPage() -> impl IntoView {
    let auth = expect_context::<AuthState>();
    let register = ServerAction::<Register>::new();
    let navigate = use_navigate();
    Effect::new(move || {
        if let Some(Ok(user)) = register.value().get() {
            auth.user.set(Some(user));
            navigate("/profile", Default::default());
        }
    });
    let error = Signal::derive(move || register.value().get().and_then(Result::err));

    view! {
        <Title text="Register · Latch" />
        <section class="card">
            <h1>"Register"</h1>
            <ActionForm action=register attr:class="form" attr:aria-label="Register">
                <CredentialFields password_autocomplete="new-password" />
                <p class="hint">
                    "Username: 3 to 32 letters, digits, '_', '.' or '-'. Password: at least 8 characters."
                </p>
                <label for="email">"Email (optional)"</label>
                <input id="email" name="email" type="email" autocomplete="email" aria-describedby="email-hint" />
                <p class="hint" id="email-hint">
                    "Only for resetting a forgotten password. We mail a link to confirm it."
                </p>
                <FormError submitted=error />
                <button type="submit" class="primary" disabled=move || register.pending().get()>
                    {move || if register.pending().get() { "Creating account…" } else { "Create account" }}
                </button>
            </ActionForm>
            <p class="aside">"Already registered? " <a href="/login">"Sign in"</a></p>
        </section>
    }
}
