//! api-service: the REST API (DESIGN §1, §6).

pub mod cards;
pub mod cli;
pub mod openapi;
pub mod rate_limit;
pub mod routes;
pub mod security;
pub mod startup;
pub mod state;
pub mod web_client;
