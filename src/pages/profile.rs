//! `/profile`: protected. The server answers an anonymous visitor with a `303` to the
//! login page before any HTML; in the browser, signing out here redirects the same way.

use crate::{
    api::{list_sessions, CurrentUser},
    app::AuthState,
    shared::{format_utc, login_url_for, SessionInfo},
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
                        <Sessions refetch=check.version() />
                    </section>
                }
                    .into_any()
            }
            None => view! { <Redirect path=login_url_for("/profile") /> }.into_any(),
        }}
    }
}

/// Where the user is signed in. Blocking, so the list is in the first HTML even
/// without JavaScript.
#[component]
fn Sessions(refetch: RwSignal<usize>) -> impl IntoView {
    let sessions = Resource::new_blocking(move || refetch.get(), |_| list_sessions());
    view! {
        <h2>"Where you are signed in"</h2>
        <Suspense fallback=|| view! { <p class="status">"Loading…"</p> }>
            {move || {
                sessions
                    .get()
                    .map(|result| match result {
                        Ok(list) => {
                            view! {
                                <ul class="sessions" data-testid="sessions">
                                    {list.into_iter().map(session_item).collect_view()}
                                </ul>
                            }
                                .into_any()
                        }
                        Err(e) => view! { <p class="error">{e.message}</p> }.into_any(),
                    })
            }}
        </Suspense>
    }
}

fn session_item(session: SessionInfo) -> impl IntoView {
    let device = session.user_agent.unwrap_or_else(|| "an unknown client".to_string());
    view! {
        <li>
            <span class="device">{device}</span>
            <span class="when">
                "since " {format_utc(session.created_at)} ", last seen "
                {format_utc(session.last_used_at)}
            </span>
            {session.current.then(|| view! { <strong class="current">" (this browser)"</strong> })}
        </li>
    }
}
