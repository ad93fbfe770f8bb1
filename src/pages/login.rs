//! `/login`: the sign-in form, and "Sign in with a passkey" (shown where the browser
//! can: `/passkeys.js` drives it). `?next=` is honoured for same-site paths only.

use super::forms::{CredentialFields, FormError};
use crate::{
    api::Login,
    app::AuthState,
    error::AppError,
    shared::{safe_next, second_step_url, PasskeyCeremony, SignIn, User},
};
use leptos::prelude::*;
use leptos_meta::{Script, Title};
use leptos_router::hooks::{use_navigate, use_query_map};

/// Starts a passkey sign-in: the ceremony's id and the options for
/// `navigator.credentials.get` (no username: the passkey names its account).
#[server(prefix = "/api", endpoint = "passkey_login_start")]
pub async fn begin_passkey_login() -> Result<PasskeyCeremony, AppError> {
    use crate::server::{account::passkeys, reply::finish};
    finish(passkeys::begin_sign_in().await, PASSKEY_TARGETS)
}

/// Finishes it with the browser's answer (`credential`, JSON): `200`, the user, both
/// cookies set, no second step; `401` `invalid_credentials` for a refused passkey.
#[server(prefix = "/api", endpoint = "passkey_login_finish")]
pub async fn finish_passkey_login(ceremony: String, credential: String) -> Result<User, AppError> {
    use crate::server::{account::passkeys, reply::finish};
    finish(passkeys::finish_sign_in(ceremony, credential).await, PASSKEY_TARGETS)
}

/// Only `/passkeys.js` calls these; a plain post (the script missing) lands on `/login`.
#[cfg(feature = "ssr")]
const PASSKEY_TARGETS: crate::server::reply::FormTargets<'static> =
    crate::server::reply::FormTargets { success: "/", failure: "/login?form=passkey" };

#[component]
pub fn LoginPage() -> impl IntoView {
    let auth = expect_context::<AuthState>();
    let query = use_query_map();
    let next = Memo::new(move |_| safe_next(query.read().get("next").as_deref()));
    let login = ServerAction::<Login>::new();
    let navigate = use_navigate();
    Effect::new(move || match login.value().get() {
        Some(Ok(SignIn::User(user))) => {
            auth.user.set(Some(user));
            navigate(&next.get_untracked(), Default::default());
        }
        Some(Ok(SignIn::SecondFactor { .. })) => {
            navigate(&second_step_url(&next.get_untracked()), Default::default());
        }
        _ => {}
    });
    let error = Signal::derive(move || login.value().get().and_then(Result::err));

    view! {
        <Title text="Sign in · Latch" />
        <section class="card">
            <h1>"Sign in"</h1>
            <ActionForm action=login attr:class="form" attr:aria-label="Sign in">
                <input type="hidden" name="next" value=move || next.get() />
                <CredentialFields password_autocomplete="current-password" />
                <FormError submitted=error />
                <button type="submit" class="primary" disabled=move || login.pending().get()>
                    {move || if login.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
            </ActionForm>
            <Script src="/passkeys.js" defer="defer" />
            <form
                method="post"
                action="/api/passkey_login_start"
                class="passkey-only"
                data-passkey="sign-in"
                aria-label="Sign in with a passkey"
            >
                <input type="hidden" name="next" value=move || next.get() />
                <p class="error" role="alert" data-passkey-error=""></p>
                <button type="submit">"Sign in with a passkey"</button>
            </form>
            <p class="aside">
                <a href="/forgot-password">"Forgot your password?"</a>
            </p>
            <p class="aside">"No account yet? " <a href="/register">"Register"</a></p>
        </section>
    }
}
