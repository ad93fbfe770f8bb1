//! The email address, on `/profile`: shown with whether it is verified, "Send the link
//! again" while it is not, and a form to set a new one (the password required, and a
//! code with TOTP on).

use crate::{
    error::AppError,
    pages::forms::{CodeField, FormError},
    shared::{Account, EmailChange},
};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// The caller's account: `{id, username, email, email_verified, totp, passkeys}`.
#[server(prefix = "/api", endpoint = "account")]
pub async fn account_info() -> Result<Account, AppError> {
    use crate::server::{account::email, reply::finish};
    finish(email::account().await, super::READ_TARGETS)
}

/// A new address: `200` `{email, email_verified: false}`, a link mailed to it, and the
/// old verified address told. `400` naming `password`, `email`, or, with TOTP on,
/// `code`.
#[server(prefix = "/api", endpoint = "change_email")]
pub async fn change_email(password: String, email: String, code: Option<String>) -> Result<EmailChange, AppError> {
    use crate::server::{
        account::email,
        reply::{finish, FormTargets},
    };
    finish(
        email::change_email(password, email, code).await,
        FormTargets { success: "/profile?email_sent=1", failure: "/profile?form=email" },
    )
}

/// Mails a fresh verification link to the unverified address (throttled).
#[server(prefix = "/api", endpoint = "resend_verification")]
pub async fn resend_verification() -> Result<(), AppError> {
    use crate::server::{
        account::email,
        reply::{finish, FormTargets},
    };
    finish(
        email::resend_verification().await,
        FormTargets { success: "/profile?email_sent=1", failure: "/profile?form=resend" },
    )
}

#[component]
pub fn EmailSection(
    page: super::PageData,
    /// Whether TOTP is on: then a code is asked for too.
    #[prop(into)]
    totp: Signal<bool>,
) -> impl IntoView {
    let change = ServerAction::<ChangeEmail>::new();
    let resend = ServerAction::<ResendVerification>::new();
    super::refetch_after(page, move || (change.version().get(), resend.version().get()));
    let query = use_query_map();
    let change_error = Signal::derive(move || change.value().get().and_then(Result::err));
    let resend_error = Signal::derive(move || resend.value().get().and_then(Result::err));
    let sent = move || {
        let now = matches!(change.value().get(), Some(Ok(_))) || matches!(resend.value().get(), Some(Ok(())));
        (now || query.read().get("email_sent").is_some())
            .then_some("A verification link is on its way; follow it to confirm the address.")
    };

    view! {
        <h2 id="email">"Email address"</h2>
        <Suspense fallback=|| view! { <p class="status">"Loading…"</p> }>
            {move || {
                page.get()
                    .map(|result| match result.map(|p| p.account) {
                        Ok(account) => {
                            let unverified = account.email.is_some() && !account.email_verified;
                            view! {
                                <dl class="facts">
                                    <dt>"Address"</dt>
                                    <dd data-testid="profile-email">
                                        {account.email.clone().unwrap_or_else(|| "none".to_string())}
                                    </dd>
                                    <dt>"Verified"</dt>
                                    <dd data-testid="profile-email-verified">
                                        {if account.email_verified { "yes" } else { "no" }}
                                    </dd>
                                </dl>
                                <Show when=move || unverified>
                                    <ActionForm action=resend attr:class="inline">
                                        <button type="submit" disabled=move || resend.pending().get()>
                                            "Send the link again"
                                        </button>
                                    </ActionForm>
                                </Show>
                            }
                                .into_any()
                        }
                        Err(e) => view! { <p class="error">{e.message}</p> }.into_any(),
                    })
            }}
        </Suspense>
        <FormError submitted=resend_error form="resend" />
        <p class="status" role="status" data-testid="email-status">{sent}</p>
        <ActionForm action=change attr:class="form" attr:aria-label="Change email address">
            <label for="new_email">"New email address"</label>
            <input id="new_email" name="email" type="email" autocomplete="email" aria-describedby="email-error" required />
            <label for="email_password">"Your password"</label>
            <input
                id="email_password"
                name="password"
                type="password"
                autocomplete="current-password"
                aria-describedby="email-error"
                required
            />
            <Show when=move || totp.get()>
                <CodeField id="email_code" described_by="email-error" recovery=true />
            </Show>
            <FormError submitted=change_error form="email" id="email-error" />
            <button type="submit" class="primary" disabled=move || change.pending().get()>
                "Change email address"
            </button>
        </ActionForm>
    }
}
