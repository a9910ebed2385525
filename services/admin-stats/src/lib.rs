//! admin-stats: the admin API, usage statistics and operational views (DESIGN §1, issue #6).

pub mod csv;
pub mod gauges;
pub mod openapi;
pub mod routes;
pub mod startup;
pub mod state;
