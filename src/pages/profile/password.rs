//! Changing the password, on `/profile`: the current one required; every other session
//! is signed out.

use crate::{
    error::AppError,
    pages::forms::{CodeField, FormError},
};
use leptos::prelude::*;

/// Changes the caller's password (the current one required, throttled like sign-in)
/// and signs out every other session; answers how many. `401` when signed out.
#[server(prefix = "/api", endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    code: Option<String>,
) -> Result<u64, AppError> {
    use crate::server::{
        account::auth,
        reply::{finish, FormTargets},
    };
    finish(
        auth::change_password(current_password, new_password, code).await,
        FormTargets { success: "/profile?changed=1", failure: "/profile?form=password" },
    )
}

#[component]
pub fn ChangePasswordForm(
    /// Whether TOTP is on: then a code is asked for too.
    #[prop(into)]
    totp: Signal<bool>,
) -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let query = leptos_router::hooks::use_query_map();
    let error = Signal::derive(move || change.value().get().and_then(Result::err));
    let done = move || match change.value().get() {
        Some(Ok(others)) => Some(format!("Password changed; {others} other session(s) signed out.")),
        Some(Err(_)) => None,
        None => query.read().get("changed").map(|_| "Password changed; other sessions signed out.".to_string()),
    };
    view! {
        <h2>"Change password"</h2>
        <ActionForm action=change attr:class="form" attr:aria-label="Change password">
            <label for="current_password">"Current password"</label>
            <input
                id="current_password"
                name="current_password"
                type="password"
                autocomplete="current-password"
                aria-describedby="password-error"
                required
            />
            <label for="new_password">"New password"</label>
            <input
                id="new_password"
                name="new_password"
                type="password"
                autocomplete="new-password"
                aria-describedby="password-error"
                required
            />
            <Show when=move || totp.get()>
                <CodeField id="password_code" described_by="password-error" recovery=true />
            </Show>
            <FormError submitted=error form="password" id="password-error" />
            <p class="status" role="status" data-testid="password-status">{done}</p>
            <button type="submit" class="primary" disabled=move || change.pending().get()>
                "Change password"
            </button>
        </ActionForm>
    }
}
