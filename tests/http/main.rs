//! HTTP integration tests: the contract, line by line, against the real server.

mod helpers;
mod mailbox;

mod accounts;
mod api;
mod attacks;
mod deletion;
mod delivery;
mod email;
mod faults;
mod keys;
mod kill;
mod limits;
mod middleware;
mod migrations;
mod pages;
mod passkeys;
mod reset;
mod scale;
mod sessions;
mod takeover;
mod throttle;
mod totp;
mod upgrade;
