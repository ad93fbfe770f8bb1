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
