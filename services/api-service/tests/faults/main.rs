//! Fault drills (issue 14), run by `make faults` (`cargo test -p api-service --test faults --
//! --ignored`; `FAULT_RUNS=20 make faults` repeats them). Ignored by default so `make test`
//! stays fast.
//!
//! Each drill runs api-service and two llm-workers in-process against real servers on loopback
//! (a redis-server of its own, SQLite or a PostgreSQL cluster of its own) and sends AI messages
//! while it breaks things at random moments: kill -9 of redis-server (with and without AOF), a
//! restore of an older snapshot, kill of a worker mid-reply, PostgreSQL stopped. Resuming
//! clients follow every conversation's log the way the gateway resumes a client (epoch and
//! offset, `bus.read_since`). At the end it asserts:
//! - every message accepted with 202 has exactly one reply, finished (`complete`) or visibly
//!   failed (`failed`, announced with `message.failed`) — none left `streaming`;
//! - no silent gap: a resume that says `recovered: true` hands out consecutive offsets, and no
//!   (epoch, offset) pair ever carries two different events;
//! - no reply is announced twice within an epoch;
//! - no request is answered 500.
//!
//! Counts are printed per drill (`--nocapture` shows them).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod drill;

use testkit::services::Backend;
use testkit::{PgCluster, RedisServer};

use crate::drill::{Drill, Fault};

#[tokio::test]
#[ignore = "fault drill: run with make faults"]
async fn redis_killed_without_persistence_and_a_worker_killed() {
    let redis = RedisServer::start();
    Drill::new(Backend::Sqlite, &redis)
        .await
        .run(&[Fault::KillRedis, Fault::KillWorker], &redis, None)
        .await;
}

#[tokio::test]
#[ignore = "fault drill: run with make faults"]
async fn redis_killed_with_aof() {
    let redis = RedisServer::start_with_aof();
    Drill::new(Backend::Sqlite, &redis)
        .await
        .run(&[Fault::KillRedis, Fault::KillRedis], &redis, None)
        .await;
}

#[tokio::test]
#[ignore = "fault drill: run with make faults"]
async fn redis_restored_from_an_older_snapshot() {
    let redis = RedisServer::start();
    Drill::new(Backend::Sqlite, &redis)
        .await
        .run(&[Fault::SnapshotThenKillRedis], &redis, None)
        .await;
}

#[tokio::test]
#[ignore = "fault drill: run with make faults"]
async fn postgres_stopped_and_a_worker_killed() {
    let redis = RedisServer::start();
    let cluster: &'static PgCluster = Box::leak(Box::new(PgCluster::start()));
    Drill::on_postgres(cluster, &redis)
        .await
        .run(
            &[Fault::StopPostgres, Fault::KillWorker],
            &redis,
            Some(cluster),
        )
        .await;
}
