//! Form pieces shared by the sign-in and register pages.

use crate::error::{AppError, ErrorCode};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Username and password fields, labelled, with a show/hide toggle for the password
/// (which only works once the page has hydrated).
#[component]
pub fn CredentialFields(
    /// `current-password` to sign in, `new-password` to register.
    password_autocomplete: &'static str,
) -> impl IntoView {
    let shown = RwSignal::new(false);
    view! {
        <label for="username">"Username"</label>
        <input
            id="username"
            name="username"
            type="text"
            autocomplete="username"
            autocapitalize="none"
            spellcheck="false"
            required
        />
        <label for="password">"Password"</label>
        <div class="password-row">
            <input
                id="password"
                name="password"
                type=move || if shown.get() { "text" } else { "password" }
                autocomplete=password_autocomplete
                required
            />
            <button
                type="button"
                class="toggle"
                aria-controls="password"
                aria-pressed=move || shown.get().to_string()
                on:click=move |_| shown.update(|s| *s = !*s)
            >
                {move || if shown.get() { "Hide" } else { "Show" }}
            </button>
        </div>
    }
}

/// A second-factor code field, named `code`: a current code from the authenticator app,
/// or, where `recovery` is set, one of the recovery codes too.
#[component]
pub fn CodeField(
    id: &'static str,
    /// The error element that speaks for this field.
    described_by: &'static str,
    #[prop(optional)] recovery: bool,
) -> impl IntoView {
    let label =
        if recovery { "Code from your authenticator (or a recovery code)" } else { "Code from your authenticator" };
    view! {
        <label for=id>{label}</label>
        <input
            id=id
            name="code"
            type="text"
            inputmode="numeric"
            autocomplete="one-time-code"
            aria-describedby=described_by
            required
        />
    }
}

/// The error to show under a form: the last submission's (with JavaScript), or the one
/// named in the URL after a plain form post. A page with several forms names each
/// (`form`), and the URL names the one that failed (`?form=…&error=…`).
#[component]
pub fn FormError(
    #[prop(into)] submitted: Signal<Option<AppError>>,
    /// This form's name in the URL, on a page with several forms.
    #[prop(optional)]
    form: Option<&'static str>,
    /// The element id, for the fields' `aria-describedby`.
    #[prop(optional)]
    id: Option<&'static str>,
) -> impl IntoView {
    let query = use_query_map();
    let message = move || {
        submitted.get().map(|e| e.message).or_else(|| {
            let query = query.read();
            if query.get("form").as_deref() != form {
                return None;
            }
            let code = ErrorCode::parse(&query.get("error")?)?;
            Some(code.form_message(query.get("field").as_deref()).to_string())
        })
    };
    view! {
        <Show when=move || message().is_some()>
            <p class="error" role="alert" data-testid="form-error" id=id>
                {message}
            </p>
        </Show>
    }
}
