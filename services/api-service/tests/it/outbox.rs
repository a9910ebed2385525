//! Issue 14: nothing accepted is lost when Redis loses its data. A message accepted with 202 is
//! answered (or visibly failed) even if every Redis key of the deployment vanished before a
//! worker read the job, and a reply left `streaming` by a job Redis forgot does not stay so.

use std::time::{Duration, Instant};

use db::messages::{MessageRow, NewMessageRow};
use domain::events::{ConversationEvent, FailureCode};
use domain::{ConversationId, MessageRole, MessageStatus, MessageType, UserId};
use platform::Settings;
use serde_json::json;
use testkit::services::Backend;

use crate::helpers::TestApp;

/// Quick relay and sweeper, instant mock replies.
fn fast(settings: &mut Settings) {
    settings.llm.mock_tokens_per_sec = 0;
    settings.llm.reclaim_idle_ms = 600;
    settings.llm.reclaim_interval_ms = 100;
    settings.llm.outbox_interval_ms = 100;
    settings.llm.outbox_relay_after_ms = 300;
}

/// What a Redis crash without persistence does to this test's deployment: every key is gone
/// (only this test's keys: the server is shared with other tests). Keys start with the prefix,
/// or with `{` and the prefix where a hash tag leads (the job markers).
async fn lose_redis_data(app: &TestApp) {
    let client = redis::Client::open(app.env.redis.url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mut keys = Vec::new();
    for pattern in [
        format!("{}*", app.env.redis.prefix),
        format!("{{{}*", app.env.redis.prefix),
    ] {
        let found: Vec<String> = redis::cmd("KEYS")
            .arg(&pattern)
            .query_async(&mut conn)
            .await
            .unwrap();
        keys.extend(found);
    }
    assert!(!keys.is_empty(), "the test wrote something to Redis");
    let _: u64 = redis::cmd("DEL")
        .arg(&keys)
        .query_async(&mut conn)
        .await
        .unwrap();
}

fn start_worker(app: &TestApp, settings: &Settings) -> llm_worker::CancellationToken {
    let worker =
        llm_worker::Worker::build(settings, app.state.db.clone(), app.state.bus.clone()).unwrap();
    let stop = llm_worker::CancellationToken::new();
    tokio::spawn(worker.run(stop.clone()));
    stop
}

async fn reply(app: &TestApp, job_id: &str) -> Option<MessageRow> {
    let job_id = job_id.to_owned();
    db::run(&app.state.db, move |c| {
        db::messages::find_by_job_id(c, &job_id)
    })
    .await
    .unwrap()
}

/// Waits until the reply of `job_id` is no longer streaming.
async fn wait_finished(app: &TestApp, job_id: &str, within: Duration) -> MessageRow {
    let deadline = Instant::now() + within;
    loop {
        if let Some(row) = reply(app, job_id).await {
            if row.status != MessageStatus::Streaming {
                return row;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the reply of {job_id} never finished: {:?}",
            reply(app, job_id).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn accepted_ai_message(app: &TestApp) -> (i64, String) {
    let alice = app.register("alice").await;
    let luna = app.character(&alice, "Luna", false).await;
    let conv = app.ai_chat(&alice, luna).await;
    let sent = app
        .post(
            &format!("/api/v1/conversations/{conv}/messages"),
            &alice.token,
            json!({"content": "Hello Luna"}),
        )
        .await
        .expect(202);
    (conv, sent["job_id"].as_str().unwrap().to_owned())
}

async fn an_accepted_message_is_answered_after_redis_lost_its_job(backend: Backend) {
    let app = TestApp::spawn_with(backend, fast).await;
    let (_, job_id) = accepted_ai_message(&app).await;
    lose_redis_data(&app).await;

    let mut settings = app.env.settings.clone();
    fast(&mut settings);
    let stop = start_worker(&app, &settings);
    let row = wait_finished(&app, &job_id, Duration::from_secs(15)).await;
    assert_eq!(row.status, MessageStatus::Complete);
    assert!(!row.content.is_empty());
    stop.cancel();
}

#[tokio::test]
async fn an_accepted_message_is_answered_after_redis_lost_its_job_postgres() {
    an_accepted_message_is_answered_after_redis_lost_its_job(Backend::Postgres).await;
}

#[tokio::test]
async fn an_accepted_message_is_answered_after_redis_lost_its_job_sqlite() {
    an_accepted_message_is_answered_after_redis_lost_its_job(Backend::Sqlite).await;
}

/// A reply some worker began (`streaming`) whose job Redis no longer knows, and that no outbox
/// row can bring back (it was written before the outbox existed, or its row expired), is marked
/// failed and the client is told with a retryable `unavailable` failure.
#[tokio::test]
async fn a_reply_left_streaming_by_a_lost_job_is_failed_visibly() {
    let app = TestApp::spawn_with(Backend::Sqlite, fast).await;
    let alice = app.register("alice").await;
    let luna = app.character(&alice, "Luna", false).await;
    let conv = ConversationId(app.ai_chat(&alice, luna).await);
    let (user, character) = (UserId(alice.id), domain::CharacterId(luna));
    let job_id = db::run(&app.state.db, move |c| {
        let trigger = db::messages::insert(c, NewMessageRow::user(conv, user, "Tell me"))?;
        let job_id = format!("reply-{}", trigger.id);
        db::messages::insert(
            c,
            NewMessageRow {
                conversation_id: conv,
                author_id: None,
                character_id: Some(character),
                role: MessageRole::Assistant,
                message_type: MessageType::Text,
                content: "Once upon a".into(),
                metadata: "{}".into(),
                reply_to_id: Some(trigger.id),
                status: MessageStatus::Streaming,
                job_id: Some(job_id.clone()),
                client_id: None,
                prompt_tokens: None,
                completion_tokens: None,
                model: None,
            },
        )?;
        Ok(job_id)
    })
    .await
    .unwrap();

    let mut settings = app.env.settings.clone();
    fast(&mut settings);
    let stop = start_worker(&app, &settings);
    let row = wait_finished(&app, &job_id, Duration::from_secs(15)).await;
    assert_eq!(row.status, MessageStatus::Failed);
    assert_eq!(row.content, "Once upon a", "the partial text is kept");

    let log = app.state.bus.read_since(conv, None, 0, 1000).await.unwrap();
    let failures: Vec<_> = log
        .entries
        .iter()
        .map(|e| e.decode().unwrap().event)
        .filter_map(|e| match e {
            ConversationEvent::Failed {
                job_id: j,
                retryable,
                code,
                ..
            } if j == job_id => Some((retryable, code)),
            _ => None,
        })
        .collect();
    assert_eq!(failures, [(true, Some(FailureCode::Unavailable))]);
    stop.cancel();
}
