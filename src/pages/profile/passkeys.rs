//! Passkeys on `/profile`: listed with when each was added and last used, each with a
//! "Remove" button (a plain form, so it works without JavaScript too), and "Add a
//! passkey", which needs the browser's WebAuthn prompt: `/passkeys.js` drives it and
//! shows the form only where it can run.

use crate::{
    error::AppError,
    pages::forms::{CodeField, FormError},
    shared::{format_utc, PasskeyCeremony, PasskeyInfo},
};
use leptos::prelude::*;
use leptos_meta::Script;

/// Starts adding a passkey (`name`, the `password`, and with TOTP on a `code`): the
/// ceremony's id and the options for `navigator.credentials.create`. `400` naming
/// `name`, `password` or `code`.
#[server(prefix = "/api", endpoint = "passkey_register_start")]
pub async fn begin_passkey(name: String, password: String, code: Option<String>) -> Result<PasskeyCeremony, AppError> {
    use crate::server::{account::passkeys, reply::finish};
    finish(passkeys::begin_registration(name, password, code).await, TARGETS)
}

/// Finishes adding it with the browser's answer (`credential`, JSON): the passkey.
#[server(prefix = "/api", endpoint = "passkey_register_finish")]
pub async fn finish_passkey(ceremony: String, credential: String) -> Result<PasskeyInfo, AppError> {
    use crate::server::{account::passkeys, reply::finish};
    finish(passkeys::finish_registration(ceremony, credential).await, TARGETS)
}

/// The caller's passkeys, oldest first.
#[server(prefix = "/api", endpoint = "passkeys")]
pub async fn list_passkeys() -> Result<Vec<PasskeyInfo>, AppError> {
    use crate::server::{account::passkeys, reply::finish};
    finish(passkeys::list().await, TARGETS)
}

/// Removes one of the caller's passkeys: `200`; `404` for an id that is not theirs.
#[server(prefix = "/api", endpoint = "remove_passkey")]
pub async fn remove_passkey(id: String) -> Result<(), AppError> {
    use crate::server::{account::passkeys, reply::finish};
    finish(passkeys::remove(id).await, TARGETS)
}

/// Where a plain form post goes: back to the list, with any error named.
#[cfg(feature = "ssr")]
const TARGETS: crate::server::reply::FormTargets<'static> =
    crate::server::reply::FormTargets { success: "/profile#passkeys", failure: "/profile?form=passkeys#passkeys" };

#[component]
pub fn PasskeySection(
    page: super::PageData,
    /// Whether TOTP is on: then a code is asked for too.
    #[prop(into)]
    totp: Signal<bool>,
) -> impl IntoView {
    let remove = ServerAction::<RemovePasskey>::new();
    super::refetch_after(page, move || remove.version().get());
    let error = Signal::derive(move || remove.value().get().and_then(Result::err));

    view! {
        <Script src="/passkeys.js" defer="defer" />
        <h2 id="passkeys">"Passkeys"</h2>
        <p>"A passkey signs you in with this device's screen lock or a security key: no password, no code."</p>
        <Suspense fallback=|| view! { <p class="status">"Loading…"</p> }>
            {move || {
                page.get()
                    .map(|data| match data.map(|p| p.passkeys) {
                        Ok(list) if list.is_empty() => {
                            view! { <p data-testid="passkeys-none">"No passkeys yet."</p> }.into_any()
                        }
                        Ok(list) => {
                            view! {
                                <ul class="sessions" data-testid="passkeys">
                                    {list.into_iter().map(|key| passkey_item(key, remove)).collect_view()}
                                </ul>
                            }
                                .into_any()
                        }
                        Err(e) => view! { <p class="error">{e.message}</p> }.into_any(),
                    })
            }}
        </Suspense>
        <FormError submitted=error form="passkeys" />
        <form
            method="post"
            action="/api/passkey_register_start"
            class="form passkey-only"
            data-passkey="add"
            aria-label="Add a passkey"
        >
            <label for="passkey_name">"Name"</label>
            <input id="passkey_name" name="name" type="text" maxlength="64" placeholder="This laptop" aria-describedby="passkey-error" required />
            <label for="passkey_password">"Your password"</label>
            <input id="passkey_password" name="password" type="password" autocomplete="current-password" aria-describedby="passkey-error" required />
            <Show when=move || totp.get()>
                <CodeField id="passkey_code" described_by="passkey-error" recovery=true />
            </Show>
            <p class="error" role="alert" id="passkey-error" data-passkey-error=""></p>
            <button type="submit">"Add a passkey"</button>
        </form>
    }
}

fn passkey_item(key: PasskeyInfo, remove: ServerAction<RemovePasskey>) -> impl IntoView {
    let label = format!("passkey-{}", key.id);
    let used = key.last_used_at.map(format_utc).unwrap_or_else(|| "never".to_string());
    view! {
        <li data-testid="passkey">
            <strong class="device" id=label.clone()>{key.name}</strong>
            <span class="when">"added " {format_utc(key.created_at)} ", last used " {used}</span>
            <ActionForm action=remove attr:class="inline">
                <input type="hidden" name="id" value=key.id />
                <button type="submit" class="link-button" aria-describedby=label>"Remove"</button>
            </ActionForm>
        </li>
    }
}
