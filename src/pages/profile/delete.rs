//! Deleting the account, on `/profile`, with the password.

use crate::{
    app::AuthState,
    error::AppError,
    pages::forms::{CodeField, FormError},
};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

/// `200`, both cookies cleared, every session revoked, the personal data gone and the
/// username free again. `400` naming `password` (or `code`, with a second factor).
#[server(prefix = "/api", endpoint = "delete_account")]
pub async fn delete_account(password: String, code: Option<String>) -> Result<(), AppError> {
    use crate::server::{
        account::deletion,
        reply::{finish, FormTargets},
    };
    finish(
        deletion::delete_account(password, code).await,
        FormTargets { success: "/?deleted=1", failure: "/profile?form=delete" },
    )
}

#[component]
pub fn DeleteAccountForm(
    /// Whether TOTP is on: then a code is asked for too.
    #[prop(into)]
    totp: Signal<bool>,
) -> impl IntoView {
    let auth = expect_context::<AuthState>();
    let delete = ServerAction::<DeleteAccount>::new();
    let navigate = use_navigate();
    Effect::new(move || {
        if let Some(Ok(())) = delete.value().get() {
            // Leave first, and forget the user once the home page has replaced this one:
            // signed out on /profile, the profile page would send us to sign in instead.
            navigate("/?deleted=1", Default::default());
            request_animation_frame(move || auth.user.set(None));
        }
    });
    let error = Signal::derive(move || delete.value().get().and_then(Result::err));
    view! {
        <h2>"Delete your account"</h2>
        <p class="hint" id="delete-hint">
            "This signs you out everywhere and erases your account: your username, email address and password. It cannot be undone."
        </p>
        <ActionForm action=delete attr:class="form" attr:aria-label="Delete your account">
            <label for="delete_password">"Your password"</label>
            <input
                id="delete_password"
                name="password"
                type="password"
                autocomplete="current-password"
                aria-describedby="delete-hint delete-error"
                required
            />
            <Show when=move || totp.get()>
                <CodeField id="delete_code" described_by="delete-error" recovery=true />
            </Show>
            <FormError submitted=error form="delete" id="delete-error" />
            <button type="submit" class="danger" disabled=move || delete.pending().get()>
                "Delete my account"
            </button>
        </ActionForm>
    }
}
