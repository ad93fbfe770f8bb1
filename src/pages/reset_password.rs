//! `/reset-password?token=…`: the link from the reset mail. Checks the link first, so a
//! dead one says so (invalid, expired, already used) instead of showing a form; then
//! sets the new password, signs out every session and signs this browser in, or, with
//! TOTP on, goes on to `/login/totp` for the code first.

use super::forms::FormError;
use crate::{app::AuthState, error::AppError, shared::SignIn};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

/// `200` and the user, both cookies set, every other session revoked; with TOTP on,
/// `200` `{"second_factor": "totp"}` and only `latch_mfa` (the code goes to
/// `/api/login_totp`). `400` `invalid_token` for a dead link, `400` naming
/// `new_password` for a broken rule (the link still works then).
#[server(prefix = "/api", endpoint = "reset_password")]
pub async fn reset_password(token: String, new_password: String) -> Result<SignIn, AppError> {
    use crate::{
        server::{
            account::reset,
            reply::{finish, FormTargets},
        },
        shared::encode_query_value,
    };
    let failure = format!("/reset-password?token={}", encode_query_value(token.trim()));
    let result = reset::reset_password(token, new_password).await;
    let success = match &result {
        Ok(SignIn::SecondFactor { .. }) => crate::shared::second_step_url(AFTER_RESET),
        _ => AFTER_RESET.to_string(),
    };
    finish(result, FormTargets { success: &success, failure: &failure })
}

/// Where a reset lands: the profile, saying the password is new.
const AFTER_RESET: &str = "/profile?reset=1";

/// Whether a reset link still works: `200`, or `400` `invalid_token` saying why not.
#[server(prefix = "/api", endpoint = "check_reset_link")]
pub async fn check_reset_link(token: String) -> Result<(), AppError> {
    use crate::server::{
        account::reset,
        reply::{finish, set_status, FormTargets},
    };
    let result = reset::check_reset_link(token).await;
    if let Err(error) = &result {
        set_status(error); // the page too answers 400 for a dead link
    }
    finish(result, FormTargets { success: "/forgot-password", failure: "/forgot-password" })
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let auth = expect_context::<AuthState>();
    let query = use_query_map();
    let token = Memo::new(move |_| query.read().get("token").unwrap_or_default());
    let link = Resource::new_blocking(move || token.get(), check_reset_link);
    let reset = ServerAction::<ResetPassword>::new();
    let navigate = use_navigate();
    Effect::new(move || match reset.value().get() {
        Some(Ok(SignIn::User(user))) => {
            auth.user.set(Some(user));
            navigate(AFTER_RESET, Default::default());
        }
        Some(Ok(SignIn::SecondFactor { .. })) => {
            navigate(&crate::shared::second_step_url(AFTER_RESET), Default::default())
        }
        _ => {}
    });
    let error = Signal::derive(move || reset.value().get().and_then(Result::err));

    view! {
        <Title text="Choose a new password · Latch" />
        <section class="card">
            <h1>"Choose a new password"</h1>
            <Suspense fallback=|| view! { <p class="status">"Checking the link…"</p> }>
                {move || {
                    link.get()
                        .map(|checked| match checked {
                            Ok(()) => {
                                view! {
                                    <ActionForm action=reset attr:class="form" attr:aria-label="Choose a new password">
                                        <input type="hidden" name="token" value=move || token.get() />
                                        <label for="new_password">"New password"</label>
                                        <input
                                            id="new_password"
                                            name="new_password"
                                            type="password"
                                            autocomplete="new-password"
                                            aria-describedby="new-password-hint reset-error"
                                            required
                                        />
                                        <p class="hint" id="new-password-hint">
                                            "At least 8 characters. Every device signed in to your account is signed out."
                                        </p>
                                        <FormError submitted=error id="reset-error" />
                                        <button type="submit" class="primary" disabled=move || reset.pending().get()>
                                            {move || if reset.pending().get() { "Saving…" } else { "Set the new password" }}
                                        </button>
                                    </ActionForm>
                                }
                                    .into_any()
                            }
                            Err(refused) => {
                                view! {
                                    <p class="error" role="alert" data-testid="link-error">{refused.message}</p>
                                    <p>
                                        <a href="/forgot-password">"Ask for a new link"</a>
                                    </p>
                                }
                                    .into_any()
                            }
                        })
                }}
            </Suspense>
        </section>
    }
}
