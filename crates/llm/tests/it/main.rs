//! Integration tests of the provider clients against the fake provider servers of `testkit`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;
mod mock;
mod providers;
mod request_shape;
mod router;
