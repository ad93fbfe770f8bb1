//! HTTP integration tests: the contract, line by line, against the real server.

mod helpers;

mod accounts;
mod api;
mod attacks;
mod faults;
mod keys;
mod kill;
mod middleware;
mod pages;
mod scale;
mod throttle;
