//! `/forgot-password`: asks for a username or an email address and mails a reset link
//! to the account's verified address. The answer is the same whether or not an account
//! matched.

use super::forms::FormError;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// Always `200` with `null` (unless throttled, `429`): a reset link goes only to a
/// matching account's verified address, and nothing tells whether one matched.
#[server(prefix = "/api", endpoint = "forgot_password")]
pub async fn forgot_password(login: String) -> Result<(), AppError> {
    use crate::server::{
        account::reset,
        reply::{finish, FormTargets},
    };
    finish(
        reset::forgot_password(login).await,
        FormTargets { success: "/forgot-password?sent=1", failure: "/forgot-password" },
    )
}

const SENT: &str = "If an account matches, a link to reset its password is on its way to the account's \
                    verified email address. It works for 30 minutes.";

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let ask = ServerAction::<ForgotPassword>::new();
    let query = use_query_map();
    let error = Signal::derive(move || ask.value().get().and_then(Result::err));
    let sent = move || match ask.value().get() {
        Some(Ok(())) => SENT,
        Some(Err(_)) => "",
        None if query.read().get("sent").is_some() => SENT,
        None => "",
    };
    view! {
        <Title text="Forgot password · Latch" />
        <section class="card">
            <h1>"Forgot your password?"</h1>
            <p>"Enter your username or your email address. If your account has a verified address, we mail it a link to choose a new password."</p>
            <ActionForm action=ask attr:class="form" attr:aria-label="Forgot password">
                <label for="login">"Username or email"</label>
                <input
                    id="login"
                    name="login"
                    type="text"
                    autocomplete="username"
                    autocapitalize="none"
                    spellcheck="false"
                    aria-describedby="login-error"
                    required
                />
                <FormError submitted=error id="login-error" />
                <p class="status" role="status" data-testid="forgot-status">{sent}</p>
                <button type="submit" class="primary" disabled=move || ask.pending().get()>
                    {move || if ask.pending().get() { "Sending…" } else { "Send the link" }}
                </button>
            </ActionForm>
            <p class="aside">"Remembered it? " <a href="/login">"Sign in"</a></p>
        </section>
    }
}
