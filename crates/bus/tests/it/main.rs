//! The bus against a real redis-server (testkit); every test has its own key prefix.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod errors;
mod helpers;
mod jobs;
mod log;
mod misc;
mod ratelimit;
mod subscriber;
