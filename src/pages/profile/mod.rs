//! `/profile`: protected. The server answers an anonymous visitor with a `303` to the
//! login page before any HTML; in the browser, signing out here redirects the same way.
//! Each form is a small component in this folder, beside the server functions it calls:
//! the email address (`email.rs`), the password (`password.rs`), deleting the account
//! (`delete.rs`), the second factor (`totp.rs`), passkeys (`passkeys.rs`).

mod delete;
mod email;
mod passkeys;
mod password;
mod totp;

use crate::{
    api::CurrentUser,
    app::AuthState,
    error::AppError,
    shared::{login_url_for, ProfileData},
};
use delete::DeleteAccountForm;
use email::EmailSection;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use passkeys::PasskeySection;
use password::ChangePasswordForm;
use totp::TotpSection;

/// Everything the page shows from the database, in one answer (the account, a pending
/// TOTP setup, the passkeys): one server function and two queries per render, where one
/// per section made the page cost three round trips.
#[server(prefix = "/api", endpoint = "profile")]
pub async fn load_profile() -> Result<ProfileData, AppError> {
    use crate::server::{account::profile, reply::finish};
    finish(profile::load().await, READ_TARGETS)
}

/// Where a plain request for the page's data goes: the page, or, signed out, the
/// sign-in page that returns to it.
#[cfg(feature = "ssr")]
const READ_TARGETS: crate::server::reply::FormTargets<'static> =
    crate::server::reply::FormTargets { success: "/profile", failure: "/login?next=%2Fprofile" };

/// The page's data as sections read it: a blocking resource, so all of it is in the
/// server's HTML even without JavaScript; a section that changes something refetches it.
pub type PageData = Resource<Result<ProfileData, AppError>>;

/// Reads the page's data again whenever `versions` changes, that is after one of a
/// section's actions has run, so what the section shows is what is stored.
fn refetch_after<V: PartialEq + 'static>(page: PageData, versions: impl Fn() -> V + 'static) {
    Effect::new(move |previous: Option<V>| {
        let current = versions();
        if previous.is_some_and(|p| p != current) {
            page.refetch();
        }
        current
    });
}

#[component]
pub fn ProfilePage() -> impl IntoView {
    let auth = expect_context::<AuthState>();
    let query = leptos_router::hooks::use_query_map();
    // Created outside any reactive branch, so the server waits for it before sending.
    let page: PageData = Resource::new_blocking(|| (), |_| load_profile());
    let totp_on = Signal::derive(move || page.get().and_then(Result::ok).is_some_and(|p| p.account.totp));
    // Asks the server who we are: a server-function call that also refreshes expired
    // tokens on the way, like any other request.
    let check = ServerAction::<CurrentUser>::new();
    Effect::new(move || {
        if let Some(Ok(user)) = check.value().get() {
            auth.user.set(user);
        }
    });

    view! {
        <Title text="Profile · Latch" />
        {move || match auth.user.get() {
            Some(user) => {
                view! {
                    <section class="card">
                        <h1>"Profile"</h1>
                        <dl class="facts">
                            <dt>"Username"</dt>
                            <dd data-testid="profile-username">{user.username}</dd>
                            <dt>"User id"</dt>
                            <dd>
                                <code>{user.id}</code>
                            </dd>
                        </dl>
                        <ActionForm action=check attr:class="inline">
                            <button type="submit" disabled=move || check.pending().get()>
                                "Check session"
                            </button>
                        </ActionForm>
                        <Show when=move || query.read().get("reset").is_some()>
                            <p class="status" role="status" data-testid="reset-status">
                                "Your new password is set, and every other session is signed out."
                            </p>
                        </Show>
                        <p class="status" role="status" data-testid="session-status">
                            {move || match check.value().get() {
                                Some(Ok(Some(u))) => format!("Session active for {}.", u.username),
                                Some(Ok(None)) => "Session ended.".to_string(),
                                Some(Err(e)) => e.message,
                                None => String::new(),
                            }}
                        </p>
                        <p>
                            <a href="/sessions">"Where you are signed in"</a>
                        </p>
                        <EmailSection page totp=totp_on />
                        <TotpSection page />
                        <PasskeySection page totp=totp_on />
                        <ChangePasswordForm totp=totp_on />
                        <DeleteAccountForm totp=totp_on />
                    </section>
                }
                    .into_any()
            }
            None => view! { <Redirect path=login_url_for("/profile") /> }.into_any(),
        }}
    }
}
