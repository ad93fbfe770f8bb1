//! `/login/totp`: the second step of a sign-in with TOTP on. The password step left a
//! `latch_mfa` cookie; this form sends a code from the authenticator app, or a recovery
//! code, and `next` survives both steps.

use super::forms::FormError;
use crate::{
    app::AuthState,
    error::AppError,
    shared::{safe_next, User},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

/// `200`, the user, both cookies set and `latch_mfa` cleared; `401` `invalid_code` for a
/// wrong, reused or spent code, `401` without a current `latch_mfa`, `429` when throttled.
#[server(prefix = "/api", endpoint = "login_totp")]
pub async fn login_totp(code: String, next: Option<String>) -> Result<User, AppError> {
    use crate::{
        server::{
            account::mfa,
            reply::{finish, FormTargets},
        },
        shared::second_step_url,
    };
    let next = safe_next(next.as_deref());
    let failure = second_step_url(&next);
    finish(mfa::login_totp(code).await, FormTargets { success: &next, failure: &failure })
}

#[component]
pub fn LoginTotpPage() -> impl IntoView {
    let auth = expect_context::<AuthState>();
    let query = use_query_map();
    let next = Memo::new(move |_| safe_next(query.read().get("next").as_deref()));
    let step = ServerAction::<LoginTotp>::new();
    let navigate = use_navigate();
    Effect::new(move || {
        if let Some(Ok(user)) = step.value().get() {
            auth.user.set(Some(user));
            navigate(&next.get_untracked(), Default::default());
        }
    });
    let error = Signal::derive(move || step.value().get().and_then(Result::err));
    view! {
        <Title text="Sign-in code · Latch" />
        <section class="card">
            <h1>"Enter your code"</h1>
            <p>"Open your authenticator app and enter the six-digit code for Latch, or one of your recovery codes."</p>
            <ActionForm action=step attr:class="form" attr:aria-label="Sign-in code">
                <input type="hidden" name="next" value=move || next.get() />
                <label for="code">"Code"</label>
                <input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" autocapitalize="none" spellcheck="false" aria-describedby="code-error" required />
                <FormError submitted=error id="code-error" />
                <button type="submit" class="primary" disabled=move || step.pending().get()>
                    {move || if step.pending().get() { "Checking…" } else { "Sign in" }}
                </button>
            </ActionForm>
            <p class="aside">"Lost your device? Use a recovery code. " <a href="/login">"Start again"</a></p>
        </section>
    }
}
