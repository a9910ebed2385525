//! Everything the services do through Redis (DESIGN §4).
//!
//! - the conversation **event log**: [`Bus::publish`] appends an event with the next offset of
//!   its conversation and fans it out in one atomic Lua script; [`Bus::read_since`] replays what
//!   a client missed, or says explicitly that it cannot (`recovered: false`);
//! - the **fan-out subscriber** ([`Bus::subscriber`]): one dedicated pub/sub connection per
//!   process for every conversation and user channel with local subscribers;
//! - the **job stream** `llm.jobs` with consumer groups, reclaim and dead-lettering
//!   ([`Bus::enqueue_job`], [`Bus::job_consumer`]);
//! - **rate limits** ([`Bus::rate_limit`]), **cancellation**, token **revocation**, the gateway
//!   **node registry** and **presence**.
//!
//! Every key and channel starts with [`BusConfig::key_prefix`]. The pool connects lazily, so a
//! service starts while Redis is down and recovers when it is back; outages surface as
//! [`BusError::Unavailable`] (503), never as a hang.

mod bus;
mod config;
mod delayed;
mod error;
mod jobs;
mod keys;
mod log;
mod ratelimit;
mod registry;
mod subscriber;

pub use bus::Bus;
pub use config::BusConfig;
pub use error::BusError;
pub use jobs::{DeadLetter, GroupInfo, JobConsumer, JobDelivery, ReclaimResult, JOB_MEMORY};
pub use log::{LogEntry, Recovery};
pub use ratelimit::RateDecision;
pub use registry::{NodeInfo, Revocations};
pub use subscriber::{
    CancelListener, CancelSignal, Subscriber, SubscriberEvent, SubscriberEvents, SubscriberHandle,
};
