//! `/profile`: protected. The server answers an anonymous visitor with a `303` to the
//! login page before any HTML; in the browser, signing out here redirects the same way.
//! It reads nothing from the database: a signed-in page costs what an anonymous one
//! does.

use super::forms::FormError;
use crate::{
    api::{ChangePassword, CurrentUser},
    app::AuthState,
    shared::login_url_for,
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

#[component]
pub fn ProfilePage() -> impl IntoView {
    let auth = expect_context::<AuthState>();
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
                        <ChangePasswordForm />
                    </section>
                }
                    .into_any()
            }
            None => view! { <Redirect path=login_url_for("/profile") /> }.into_any(),
        }}
    }
}

/// Changing the password signs out every other session.
#[component]
fn ChangePasswordForm() -> impl IntoView {
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
            <input id="current_password" name="current_password" type="password" autocomplete="current-password" required />
            <label for="new_password">"New password"</label>
            <input id="new_password" name="new_password" type="password" autocomplete="new-password" required />
            <FormError submitted=error />
            <p class="status" role="status" data-testid="password-status">{done}</p>
            <button type="submit" class="primary" disabled=move || change.pending().get()>
                "Change password"
            </button>
        </ActionForm>
    }
}
