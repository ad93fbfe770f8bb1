//! The pages, one file (or folder) each, each beside the server functions it calls;
//! `forms.rs` holds the pieces several forms share.

mod forgot_password;
mod forms;
mod home;
mod login;
mod login_totp;
mod not_found;
mod profile;
mod register;
mod reset_password;
mod sessions;
mod verify_email;

pub use forgot_password::ForgotPasswordPage;
pub use home::HomePage;
pub use login::LoginPage;
pub use login_totp::LoginTotpPage;
pub use not_found::NotFound;
pub use profile::ProfilePage;
pub use register::RegisterPage;
pub use reset_password::ResetPasswordPage;
pub use sessions::SessionsPage;
pub use verify_email::VerifyEmailPage;

pub use on_demand::*;

/// The routes whose code the browser fetches only when one is visited: everything but
/// the home page, the sign-in page and "not found", which a first visit needs. Every
/// build splits each into WASM files of its own (`cargo leptos --split`); the
/// server renders them like any other page, and hydration waits for the file. The
/// route has no data of its own: each page starts its server functions once its code
/// is there, so the first visit in a browser session costs one round trip more.
mod on_demand {
    use super::*;
    use leptos::prelude::*;
    use leptos_router::{lazy_route, LazyRoute};

    macro_rules! on_demand {
        ($($route:ident => $page:ident),* $(,)?) => {$(
            pub struct $route;

            #[lazy_route]
            impl LazyRoute for $route {
                fn data() -> Self {
                    Self
                }

                fn view(_this: Self) -> AnyView {
                    view! { <$page /> }.into_any()
                }
            }
        )*};
    }

    on_demand! {
        RegisterRoute => RegisterPage,
        LoginTotpRoute => LoginTotpPage,
        ProfileRoute => ProfilePage,
        SessionsRoute => SessionsPage,
        ForgotPasswordRoute => ForgotPasswordPage,
        ResetPasswordRoute => ResetPasswordPage,
        VerifyEmailRoute => VerifyEmailPage,
    }
}
