//! `/verify-email?token=…`: the link from the verification mail. Following it verifies
//! the address (no signed-in browser needed); a dead link answers `400` and says why.

use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// Spends a verification link: `200`, or `400` `invalid_token`.
#[server(prefix = "/api", endpoint = "verify_email")]
pub async fn verify_email(token: String) -> Result<(), AppError> {
    use crate::server::{
        account::email,
        reply::{finish, set_status},
    };
    let result = email::verify_email(token).await;
    if let Err(error) = &result {
        set_status(error); // the page answers 400 too
    }
    finish(result, crate::server::reply::FormTargets { success: "/profile", failure: "/profile?form=email" })
}

#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let query = use_query_map();
    let token = Memo::new(move |_| query.read().get("token").unwrap_or_default());
    let verified = Resource::new_blocking(move || token.get(), verify_email);
    view! {
        <Title text="Confirm your email · Latch" />
        <section class="card">
            <h1>"Confirm your email address"</h1>
            <Suspense fallback=|| view! { <p class="status">"Checking the link…"</p> }>
                {move || {
                    verified.get()
                        .map(|result| match result {
                            Ok(()) => {
                                view! {
                                    <p class="status" role="status" data-testid="verify-status">
                                        "Your email address is verified. Password-reset links can now reach it."
                                    </p>
                                }
                                    .into_any()
                            }
                            Err(refused) => {
                                view! {
                                    <p class="error" role="alert" data-testid="verify-status">{refused.message}</p>
                                    <p>"Signed in, you can ask for a new link on " <a href="/profile">"your profile"</a> "."</p>
                                }
                                    .into_any()
                            }
                        })
                }}
            </Suspense>
        </section>
    }
}
