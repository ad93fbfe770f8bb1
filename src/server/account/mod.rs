//! Accounts: the input rules (`domain`), password hashing, the users table, and what
//! the server functions do with them (`auth`).

pub mod auth;
pub mod domain;
pub mod password;
pub mod users;
