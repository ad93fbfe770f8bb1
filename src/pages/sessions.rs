//! `/sessions`: protected. Where the user is signed in, and their recent authentication
//! events, read from the database while the page renders (blocking, so the list is in the first HTML even without
//! JavaScript).

use crate::{
    api::{list_sessions, recent_events},
    app::AuthState,
    error::AppError,
    shared::{format_utc, login_url_for, AuditEntry, SessionInfo},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

#[component]
pub fn SessionsPage() -> impl IntoView {
    let auth = expect_context::<AuthState>();
    let sessions = Resource::new_blocking(|| (), |_| list_sessions());
    let events = Resource::new_blocking(|| (), |_| recent_events());
    view! {
        <Title text="Sessions · Latch" />
        <Show
            when=move || auth.user.get().is_some()
            fallback=|| view! { <Redirect path=login_url_for("/sessions") /> }
        >
            <section class="card">
                <h1>"Where you are signed in"</h1>
                <ListOf resource=sessions testid="sessions" item=session_item />
                <h2>"Recent activity"</h2>
                <ListOf resource=events testid="events" item=event_item />
                <p>
                    <a href="/profile">"Back to your profile"</a>
                </p>
            </section>
        </Show>
    }
}

/// A list loaded by a server function: its items, or the error's message.
#[component]
fn ListOf<T, V>(resource: Resource<Result<Vec<T>, AppError>>, testid: &'static str, item: fn(T) -> V) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    V: IntoView + 'static,
{
    view! {
        <Suspense fallback=|| view! { <p class="status">"Loading…"</p> }>
            {move || {
                resource
                    .get()
                    .map(|result| match result {
                        Ok(list) => {
                            view! {
                                <ul class="sessions" data-testid=testid>
                                    {list.into_iter().map(item).collect_view()}
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

fn event_item(entry: AuditEntry) -> impl IntoView {
    let what = match entry.event.as_str() {
        "register" => "Account created",
        "login_ok" => "Signed in",
        "login_failed" => "Failed sign-in",
        "throttled" => "Sign-in attempts slowed down",
        "logout" => "Signed out",
        "refresh" => "Session refreshed",
        "reuse_detected" => "Stolen session token detected; session ended",
        "password_changed" => "Password changed",
        _ => "Account event",
    };
    let from = entry.ip.unwrap_or_else(|| "an unknown address".to_string());
    view! {
        <li>
            <span class="device">{what}</span>
            <span class="when">{format_utc(entry.at)} " from " {from}</span>
        </li>
    }
}
