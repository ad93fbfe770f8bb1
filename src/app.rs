//! The page shell, the router and the header. The login state is read once on the
//! server (from the identity the middleware found), sent along with the HTML, and
//! picked up by hydration, so the header never flashes the wrong state.

use crate::{
    api::Logout,
    pages::{
        ForgotPasswordRoute, HomePage, LoginPage, LoginTotpRoute, NotFound, ProfileRoute, RegisterRoute,
        ResetPasswordRoute, SessionsRoute, VerifyEmailRoute,
    },
    shared::User,
};
use leptos::{prelude::*, server::SharedValue};
use leptos_meta::{provide_meta_context, Title};
use leptos_router::{
    components::{Route, Router, Routes, A},
    hooks::use_navigate,
    path, Lazy, SsrMode,
};

/// The document around the app; rendered only by the server.
#[cfg(feature = "ssr")]
pub fn shell(options: LeptosOptions) -> impl IntoView {
    use leptos_meta::MetaTags;
    crate::server::guard::headers::content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <AutoReload options=options.clone() />
                <BundleLinks options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The stylesheet, and the script that loads the WASM and hydrates the page (what
/// leptos' `HashedStylesheet` and `HydrationScripts` render, with the file names read
/// once: see `server::assets`). The preloads start both downloads before the script runs;
/// with the split manifest in context, leptos adds the files of an on-demand page.
/// The `hydrated` performance mark is what `make bench` times (end2end/tti.mjs).
#[cfg(feature = "ssr")]
#[component]
fn BundleLinks(options: LeptosOptions) -> impl IntoView {
    let bundle = crate::server::assets::bundle(&options);
    if let Some(split) = bundle.split {
        provide_context(split);
    }
    let loader = format!(
        "import({js:?}).then(async (app) => {{ await app.default({{ module_or_path: {wasm:?} }}); await app.hydrate(); performance.mark(\"hydrated\"); }});",
        js = bundle.js,
        wasm = bundle.wasm,
    );
    view! {
        <link rel="stylesheet" id="leptos" href=bundle.css />
        <link rel="modulepreload" href=bundle.js crossorigin="anonymous" />
        <link rel="preload" href=bundle.wasm r#as="fetch" r#type="application/wasm" crossorigin="anonymous" />
        <script type="module" nonce=leptos::nonce::use_nonce()>{loader}</script>
    }
}

/// Who is signed in, for every component; updated by login, register and logout.
#[derive(Clone, Copy)]
pub struct AuthState {
    pub user: RwSignal<Option<User>>,
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let initial = SharedValue::new(|| {
        #[cfg(feature = "ssr")]
        {
            crate::server::account::auth::current_user()
        }
        #[cfg(not(feature = "ssr"))]
        {
            None::<User>
        }
    });
    provide_context(AuthState { user: RwSignal::new(initial.into_inner()) });

    view! {
        <Title text="Latch" />
        <Router>
            <Header />
            <main>
                <Routes fallback=NotFound>
                    <Route path=path!("") view=HomePage />
                    <Route path=path!("login") view=LoginPage />
                    <Route path=path!("login/totp") view={Lazy::<LoginTotpRoute>::new()} />
                    <Route path=path!("register") view={Lazy::<RegisterRoute>::new()} />
                    // Pages that read the database stream in order: each <Suspense> waits
                    // for its data and is sent in place, never as a fragment that only
                    // JavaScript could swap in, so they work without it. (Out of order, a
                    // resource that resolves after the first chunk, as after a refresh,
                    // left the fallback in the HTML.)
                    <Route path=path!("profile") view={Lazy::<ProfileRoute>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("sessions") view={Lazy::<SessionsRoute>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("forgot-password") view={Lazy::<ForgotPasswordRoute>::new()} />
                    <Route path=path!("reset-password") view={Lazy::<ResetPasswordRoute>::new()} ssr=SsrMode::InOrder />
                    <Route path=path!("verify-email") view={Lazy::<VerifyEmailRoute>::new()} ssr=SsrMode::InOrder />
                </Routes>
            </main>
        </Router>
    }
}

#[component]
fn Header() -> impl IntoView {
    let auth = expect_context::<AuthState>();
    let logout = ServerAction::<Logout>::new();
    let navigate = use_navigate();
    Effect::new(move || {
        if let Some(Ok(())) = logout.value().get() {
            auth.user.set(None);
            navigate("/", Default::default());
        }
    });

    view! {
        <header class="site-header">
            <A href="/" attr:class="brand">
                "Latch"
            </A>
            <nav aria-label="Account">
                {move || match auth.user.get() {
                    Some(user) => {
                        view! {
                            <A href="/profile" attr:class="who">
                                <span data-testid="header-username">{user.username}</span>
                            </A>
                            // What an `ActionForm` does, without its machinery on every
                            // signed-in page (an owner, a node ref, form parsing): a plain
                            // form that works without JavaScript, and once hydrated, the
                            // action instead, with no reload.
                            <form
                                method="post"
                                action={<Logout as leptos::server_fn::ServerFn>::url()}
                                class="inline"
                                on:submit=move |ev| {
                                    ev.prevent_default();
                                    logout.dispatch(Logout {});
                                }
                            >
                                <button type="submit" class="link-button">
                                    "Sign out"
                                </button>
                            </form>
                        }
                            .into_any()
                    }
                    None => {
                        view! {
                            <A href="/login">"Sign in"</A>
                            <A href="/register" attr:class="button">
                                "Register"
                            </A>
                        }
                            .into_any()
                    }
                }}
            </nav>
        </header>
    }
}
