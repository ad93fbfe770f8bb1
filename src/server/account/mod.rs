//! Accounts: the input rules (`domain`), password hashing, the users table, and what
//! the server functions do with them: signing in and out (`auth`), the email address
//! (`email`), password reset (`reset`) and deleting an account (`deletion`), with the
//! single-use links the last two mail (`links`).

pub mod auth;
pub mod deletion;
pub mod domain;
pub mod email;
pub mod links;
pub mod password;
pub mod reset;
pub mod users;
