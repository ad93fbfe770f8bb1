//! `/sessions`: protected. Where the user is signed in, with a "Sign out" button on each
//! other session, "Sign out everywhere else" and "Sign out everywhere", and the recent
//! authentication events; read from the database while the page renders, so all of it
//! is in the first HTML and every button works without JavaScript.

use crate::{
    api::{list_sessions, recent_events},
    app::AuthState,
    error::AppError,
    pages::forms::FormError,
    shared::{format_utc, login_url_for, AuditEntry, Revoked, SessionInfo},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Redirect, hooks::use_navigate};

/// Ends one of the caller's sessions: `200`; `404` for an id that is not theirs.
#[server(prefix = "/api", endpoint = "revoke_session")]
pub async fn revoke_session(id: String) -> Result<(), AppError> {
    use crate::server::{
        account::auth,
        reply::{finish, FormTargets},
    };
    finish(auth::revoke_session(id).await, FormTargets { success: "/sessions", failure: "/sessions?form=sessions" })
}

/// Ends every other session: `200` `{"revoked": n}`.
#[server(prefix = "/api", endpoint = "sign_out_others")]
pub async fn sign_out_others() -> Result<Revoked, AppError> {
    use crate::server::{
        account::auth,
        reply::{finish, FormTargets},
    };
    finish(auth::sign_out_others().await, FormTargets { success: "/sessions", failure: "/sessions?form=sessions" })
}

/// Ends every session, this one too: `200`, both cookies cleared.
#[server(prefix = "/api", endpoint = "sign_out_everywhere")]
pub async fn sign_out_everywhere() -> Result<(), AppError> {
    use crate::server::{
        account::auth,
        reply::{finish, FormTargets},
    };
    finish(auth::sign_out_everywhere().await, FormTargets { success: "/", failure: "/sessions?form=sessions" })
}

#[component]
pub fn SessionsPage() -> impl IntoView {
    let auth = expect_context::<AuthState>();
    let revoke = ServerAction::<RevokeSession>::new();
    let others = ServerAction::<SignOutOthers>::new();
    let everywhere = ServerAction::<SignOutEverywhere>::new();
    let sessions =
        Resource::new_blocking(move || (revoke.version().get(), others.version().get()), |_| list_sessions());
    let events = Resource::new_blocking(move || (revoke.version().get(), others.version().get()), |_| recent_events());
    let navigate = use_navigate();
    Effect::new(move || {
        if let Some(Ok(())) = everywhere.value().get() {
            // Leave first: signed out here, the page would send us to sign in.
            navigate("/", Default::default());
            request_animation_frame(move || auth.user.set(None));
        }
    });
    let error = Signal::derive(move || {
        revoke.value().get().and_then(Result::err).or_else(|| others.value().get().and_then(Result::err))
    });
    let row = move |session: SessionInfo| session_item(session, revoke);

    view! {
        <Title text="Sessions · Latch" />
        <Show
            when=move || auth.user.get().is_some()
            fallback=|| view! { <Redirect path=login_url_for("/sessions") /> }
        >
            <section class="card">
                <h1>"Where you are signed in"</h1>
                <ListOf resource=sessions testid="sessions" item=row />
                <FormError submitted=error form="sessions" />
                <div class="actions">
                    <ActionForm action=others attr:class="inline">
                        <button type="submit" disabled=move || others.pending().get()>
                            "Sign out everywhere else"
                        </button>
                    </ActionForm>
                    <ActionForm action=everywhere attr:class="inline">
                        <button type="submit" class="danger" disabled=move || everywhere.pending().get()>
                            "Sign out everywhere"
                        </button>
                    </ActionForm>
                </div>
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
fn ListOf<T, V, F>(resource: Resource<Result<Vec<T>, AppError>>, testid: &'static str, item: F) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    V: IntoView + 'static,
    F: Fn(T) -> V + Copy + Send + Sync + 'static,
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

fn session_item(session: SessionInfo, revoke: ServerAction<RevokeSession>) -> impl IntoView {
    let how = match session.method.as_str() {
        "password" => "with a password",
        "password+totp" => "with a password and a code",
        "passkey" => "with a passkey",
        "reset" => "with a password-reset link",
        _ => "",
    };
    let from = session.ip.clone().unwrap_or_else(|| "an unknown address".to_string());
    let label = format!("device-{}", session.id);
    view! {
        <li data-testid="session">
            <strong class="device" id=label.clone()>{session.device.clone()}</strong>
            <span class="when">
                {format!("{from}, signed in {how}, since ")} {format_utc(session.created_at)}
                ", last seen " {format_utc(session.last_used_at)}
            </span>
            {if session.current {
                view! { <span class="current">"this browser"</span> }.into_any()
            } else {
                view! {
                    <ActionForm action=revoke attr:class="inline">
                        <input type="hidden" name="id" value=session.id.clone() />
                        <button type="submit" class="link-button" aria-describedby=label>
                            "Sign out"
                        </button>
                    </ActionForm>
                }
                    .into_any()
            }}
        </li>
    }
}

fn event_item(entry: AuditEntry) -> impl IntoView {
    let what = match entry.event.as_str() {
        "register" => "Account created",
        "login_ok" => "Signed in",
        "login_failed" => "Failed sign-in",
        "throttled" => "Attempts slowed down",
        "logout" => "Signed out",
        "refresh" => "Session refreshed",
        "reuse_detected" => "Stolen session token detected; session ended",
        "password_changed" => "Password changed",
        "password_check_failed" => "Wrong password given to change the account",
        "code_check_failed" => "Wrong code given to change the account",
        "email_changed" => "Email address changed",
        "email_verified" => "Email address verified",
        "verification_sent" => "Verification link sent",
        "reset_requested" => "Password reset requested",
        "password_reset" => "Password reset",
        "session_revoked" => "A session signed out",
        "signed_out_others" => "Signed out everywhere else",
        "signed_out_everywhere" => "Signed out everywhere",
        "totp_enabled" => "Two-factor sign-in turned on",
        "totp_disabled" => "Two-factor sign-in turned off",
        "passkey_added" => "Passkey added",
        "passkey_removed" => "Passkey removed",
        _ => "Account event",
    };
    let from = entry.ip.unwrap_or_else(|| "an unknown address".to_string());
    let times = (entry.count > 1).then(|| format!(" ({} times)", entry.count));
    view! {
        <li>
            <span class="device">{what}{times}</span>
            <span class="when">{format_utc(entry.at)} " from " {from}</span>
        </li>
    }
}
