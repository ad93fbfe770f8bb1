//! Accounts: the input rules (`domain`), password hashing, the users table, and what
//! the server functions do with them: signing in and out (`auth`), the email address
//! (`email`), password reset (`reset`), deleting an account (`deletion`), the second
//! factor (`totp`, `mfa`), passkeys (`passkeys`), with the single-use links the mail
//! carries (`links`) and the notices that tell the owner of each change (`notices`).

pub mod auth;
pub mod deletion;
pub mod domain;
pub mod email;
pub mod links;
pub mod mfa;
pub mod notices;
pub mod passkeys;
pub mod password;
pub mod profile;
pub mod reset;
pub mod totp;
pub mod users;
