//! The pages, one file each; `forms.rs` holds the fields the sign-in and register
//! forms share.

mod forms;
mod home;
mod login;
mod not_found;
mod profile;
mod register;
mod sessions;

pub use home::HomePage;
pub use login::LoginPage;
pub use not_found::NotFound;
pub use profile::ProfilePage;
pub use register::RegisterPage;
pub use sessions::SessionsPage;
