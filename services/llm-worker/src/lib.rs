//! llm-worker: consumes generation jobs and talks to AI providers (DESIGN §7). Its HTTP port
//! serves only the operational endpoints.

pub mod startup;
