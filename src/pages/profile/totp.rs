//! Two-factor sign-in, on `/profile`: set up with a QR code (SVG drawn by the server)
//! and the secret as text (kept until the owner asks for a new key), turned on by the
//! password and a first code, ten recovery codes shown once,
//! turned off with the password and a code.

use crate::{
    error::AppError,
    pages::forms::{CodeField, FormError},
    shared::{RecoveryCodes, TotpPending, TotpSetup},
};
use leptos::prelude::*;

/// The pending secret, new if there is none: `200` `{"secret", "uri"}`; TOTP is not on
/// yet. A pending one is kept unless `new_key` asks for another.
#[server(prefix = "/api", endpoint = "totp_setup")]
pub async fn start_totp_setup(new_key: Option<bool>) -> Result<TotpSetup, AppError> {
    use crate::server::{
        account::mfa,
        reply::{finish, FormTargets},
    };
    finish(
        mfa::setup(new_key.unwrap_or(false)).await,
        FormTargets { success: "/profile#totp", failure: "/profile?form=totp" },
    )
}

/// The pending setup with its QR code, for this page.
#[server(prefix = "/api", endpoint = "totp_pending")]
pub async fn pending_totp() -> Result<Option<TotpPending>, AppError> {
    crate::server::account::mfa::pending().await
}

/// Turns TOTP on with the password and a first correct code: `200`
/// `{"recovery_codes": [10]}`; `400` naming `password`, or `invalid_code`.
#[server(prefix = "/api", endpoint = "totp_enable")]
pub async fn turn_on_totp(code: String, password: Option<String>) -> Result<RecoveryCodes, AppError> {
    use crate::server::{
        account::mfa,
        reply::{finish, plain_form_post, FormTargets},
        request::Request,
    };
    let result = mfa::enable(code, password.unwrap_or_default()).await;
    if let (Ok(codes), true) = (&result, plain_form_post()) {
        mfa::carry_codes(&Request::current()?, &codes.recovery_codes);
    }
    finish(result, FormTargets { success: "/profile?totp=on#totp", failure: "/profile?form=totp" })
}

/// Turns TOTP off: `200`; `400` naming `password` or `code`.
#[server(prefix = "/api", endpoint = "totp_disable")]
pub async fn turn_off_totp(password: String, code: String) -> Result<(), AppError> {
    use crate::server::{
        account::mfa,
        reply::{finish, FormTargets},
    };
    finish(
        mfa::disable(password, code).await,
        FormTargets { success: "/profile?totp=off#totp", failure: "/profile?form=totp" },
    )
}

/// Recovery codes carried across a plain form's redirect, shown once.
#[server(prefix = "/api", endpoint = "recovery_codes_once")]
pub async fn recovery_codes_once() -> Result<Option<Vec<String>>, AppError> {
    crate::server::account::mfa::codes_carried()
}

#[component]
pub fn TotpSection(page: super::PageData) -> impl IntoView {
    let setup = ServerAction::<StartTotpSetup>::new();
    let enable = ServerAction::<TurnOnTotp>::new();
    let disable = ServerAction::<TurnOffTotp>::new();
    let carried = Resource::new_blocking(|| (), |_| recovery_codes_once());
    super::refetch_after(page, move || (setup.version().get(), enable.version().get(), disable.version().get()));
    let error = Signal::derive(move || {
        setup
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| enable.value().get().and_then(Result::err))
            .or_else(|| disable.value().get().and_then(Result::err))
    });
    let codes = move || {
        enable
            .value()
            .get()
            .and_then(Result::ok)
            .map(|c| c.recovery_codes)
            .or_else(|| carried.get().and_then(Result::ok).flatten())
    };

    view! {
        <h2 id="totp">"Two-factor sign-in"</h2>
        <Suspense fallback=|| view! { <p class="status">"Loading…"</p> }>
            {move || {
                let data = page.get().and_then(Result::ok);
                let on = data.as_ref().is_some_and(|p| p.account.totp);
                let pending = data.and_then(|p| p.pending_totp);
                match (on, pending) {
                    (true, _) => view! {
                        <p data-testid="totp-status">"On: signing in asks for a code from your authenticator app."</p>
                        {codes().map(|codes| view! {
                            <p>"Your recovery codes. Each works once, in place of a code; keep them somewhere safe. They are shown only now."</p>
                            <ol class="codes" data-testid="recovery-codes">
                                {codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}
                            </ol>
                        })}
                        <ActionForm action=disable attr:class="form" attr:aria-label="Turn off two-factor sign-in">
                            <label for="totp_off_password">"Your password"</label>
                            <input id="totp_off_password" name="password" type="password" autocomplete="current-password" aria-describedby="totp-error" required />
                            <CodeField id="totp_off_code" described_by="totp-error" recovery=true />
                            <button type="submit" disabled=move || disable.pending().get()>"Turn off two-factor sign-in"</button>
                        </ActionForm>
                    }.into_any(),
                    (false, Some(pending)) => view! {
                        <p>"Scan this code with an authenticator app, or type the key below into it, then enter the six-digit code it shows."</p>
                        <div class="qr" role="img" aria-label="QR code of the setup key" inner_html=pending.qr_svg></div>
                        <p>"Key: " <code data-testid="totp-secret">{pending.secret}</code></p>
                        <ActionForm action=enable attr:class="form" attr:aria-label="Turn on two-factor sign-in">
                            <CodeField id="totp_on_code" described_by="totp-error" />
                            <label for="totp_on_password">"Your password"</label>
                            <input id="totp_on_password" name="password" type="password" autocomplete="current-password" aria-describedby="totp-error" required />
                            <button type="submit" class="primary" disabled=move || enable.pending().get()>"Turn on"</button>
                        </ActionForm>
                        <ActionForm action=setup attr:class="inline">
                            <input type="hidden" name="new_key" value="true" />
                            <button type="submit" class="link-button" disabled=move || setup.pending().get()>"Start again with a new key"</button>
                        </ActionForm>
                    }.into_any(),
                    (false, None) => view! {
                        <p data-testid="totp-status">"Off. A code from an authenticator app, asked for after your password, keeps a stolen password from being enough."</p>
                        <ActionForm action=setup attr:class="inline">
                            <button type="submit" disabled=move || setup.pending().get()>"Set up two-factor sign-in"</button>
                        </ActionForm>
                    }.into_any(),
                }
            }}
        </Suspense>
        <FormError submitted=error form="totp" id="totp-error" />
    }
}
