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

    // The sweeper stores the failure first and announces it after: wait for the announcement
    // (it raced the read once in CI), then check, a moment later, that it came exactly once.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while failures_announced(&app, conv, &job_id).await.is_empty()
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        failures_announced(&app, conv, &job_id).await,
        [(true, Some(FailureCode::Unavailable))]
    );
    stop.cancel();
}

/// The `message.failed` events of `job_id` on the conversation's log: (retryable, code).
async fn failures_announced(
    app: &TestApp,
    conv: ConversationId,
    job_id: &str,
) -> Vec<(bool, Option<FailureCode>)> {
    let log = app.state.bus.read_since(conv, None, 0, 1000).await.unwrap();
    log.entries
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
        .collect()
}

async fn in_outbox(app: &TestApp, job_id: &str) -> bool {
    let job_id = job_id.to_owned();
    db::run(&app.state.db, move |c| db::outbox::contains(c, &job_id))
        .await
        .unwrap()
}

async fn wait_outbox_cleared(app: &TestApp, job_id: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while in_outbox(app, job_id).await {
        assert!(
            Instant::now() < deadline,
            "{job_id} stayed in the outbox after its job was done"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends, regenerates and stories store their job with what they answer; the relay removes the
/// row once the outcome is stored.
#[tokio::test]
async fn every_accepted_job_is_in_the_outbox_until_it_is_answered() {
    let app = TestApp::spawn_with(Backend::Sqlite, fast).await;
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
    let reply_job = sent["job_id"].as_str().unwrap().to_owned();
    assert!(in_outbox(&app, &reply_job).await);
    let story = app
        .post(
            "/api/v1/stories",
            &alice.token,
            json!({"prompt": "A moonlit adventure", "character_ids": [luna]}),
        )
        .await
        .expect(202);
    let story_job = story["job_id"].as_str().unwrap().to_owned();
    assert!(in_outbox(&app, &story_job).await);

    let mut settings = app.env.settings.clone();
    fast(&mut settings);
    let stop = start_worker(&app, &settings);
    wait_finished(&app, &reply_job, Duration::from_secs(15)).await;
    let regen = app
        .post(
            &format!("/api/v1/conversations/{conv}/regenerate"),
            &alice.token,
            json!({}),
        )
        .await
        .expect(202);
    let regen_job = regen["job_id"].as_str().unwrap().to_owned();
    assert!(in_outbox(&app, &regen_job).await);
    assert_eq!(
        wait_finished(&app, &regen_job, Duration::from_secs(15))
            .await
            .status,
        MessageStatus::Complete
    );
    for job in [&reply_job, &story_job, &regen_job] {
        wait_outbox_cleared(&app, job, Duration::from_secs(10)).await;
    }
    stop.cancel();
}

#[tokio::test]
async fn a_story_accepted_before_redis_lost_its_job_is_written() {
    let app = TestApp::spawn_with(Backend::Postgres, fast).await;
    let alice = app.register("alice").await;
    let luna = app.character(&alice, "Luna", false).await;
    let story = app
        .post(
            "/api/v1/stories",
            &alice.token,
            json!({"prompt": "A moonlit adventure", "character_ids": [luna]}),
        )
        .await
        .expect(202);
    let id = story["id"].as_i64().unwrap();
    lose_redis_data(&app).await;

    let mut settings = app.env.settings.clone();
    fast(&mut settings);
    let stop = start_worker(&app, &settings);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let story = app
            .get(&format!("/api/v1/stories/{id}"), &alice.token)
            .await
            .expect(200);
        if story["status"] == "complete" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the story was never written: {story}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
}

/// A reply that was streaming when Redis lost its job, and whose job is still in the outbox, is
/// resumed (not failed) and ends as exactly one complete reply.
#[tokio::test]
async fn a_streaming_reply_whose_job_redis_lost_is_resumed_from_the_outbox() {
    let app = TestApp::spawn_with(Backend::Postgres, fast).await;
    let alice = app.register("alice").await;
    let luna = app.character(&alice, "Luna", false).await;
    let conv = ConversationId(app.ai_chat(&alice, luna).await);
    let (user, character) = (UserId(alice.id), domain::CharacterId(luna));
    let job_id = db::run(&app.state.db, move |c| {
        let trigger = db::messages::insert(c, NewMessageRow::user(conv, user, "Tell me"))?;
        let job = domain::jobs::LlmJob {
            v: domain::jobs::JOB_VERSION,
            job_id: format!("reply-{}", trigger.id),
            kind: domain::jobs::JobKind::Reply,
            user_id: user,
            conversation_id: Some(conv),
            trigger_message_id: Some(trigger.id),
            story_id: None,
            model: None,
            enqueued_at: chrono::Utc::now(),
            character_id: None,
        };
        db::outbox::insert(c, &job)?;
        db::messages::upsert_assistant_reply(
            c,
            db::messages::AssistantReply {
                conversation_id: conv,
                character_id: Some(character),
                job_id: job.job_id.clone(),
                reply_to_id: Some(trigger.id),
                content: "Once upon a".into(),
                status: MessageStatus::Streaming,
                model: None,
                prompt_tokens: None,
                completion_tokens: None,
            },
        )?;
        Ok(job.job_id)
    })
    .await
    .unwrap();

    let mut settings = app.env.settings.clone();
    fast(&mut settings);
    let stop = start_worker(&app, &settings);
    let row = wait_finished(&app, &job_id, Duration::from_secs(15)).await;
    assert_eq!(row.status, MessageStatus::Complete, "resumed, not failed");
    assert_ne!(row.content, "Once upon a");
    // The greeting is an assistant message too, without a job.
    let replies = db::run(&app.state.db, move |c| {
        db::messages::list_page(c, conv, None, None, 100, None)
    })
    .await
    .unwrap()
    .into_iter()
    .filter(|m| m.role == MessageRole::Assistant && m.job_id.is_some())
    .count();
    assert_eq!(replies, 1, "exactly one reply");
    wait_outbox_cleared(&app, &job_id, Duration::from_secs(10)).await;
    stop.cancel();
}

/// Redis loses everything while a worker streams a reply: the reply still completes, once.
/// (A regression guard for the relay: the job it may put again is the one running here.)
#[tokio::test]
async fn a_reply_streaming_while_redis_loses_its_data_completes_once() {
    let app = TestApp::spawn_with(Backend::Sqlite, fast).await;
    let mut settings = app.env.settings.clone();
    fast(&mut settings);
    settings.llm.mock_tokens_per_sec = 15; // about four seconds of streaming
    let stop = start_worker(&app, &settings);
    let (conv, job_id) = accepted_ai_message(&app).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while reply(&app, &job_id)
        .await
        .is_none_or(|r| r.content.is_empty())
    {
        assert!(Instant::now() < deadline, "the reply never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    lose_redis_data(&app).await;

    let row = wait_finished(&app, &job_id, Duration::from_secs(20)).await;
    assert_eq!(row.status, MessageStatus::Complete);
    wait_outbox_cleared(&app, &job_id, Duration::from_secs(10)).await;
    let conv = ConversationId(conv);
    let replies = db::run(&app.state.db, move |c| {
        db::messages::list_page(c, conv, None, None, 100, None)
    })
    .await
    .unwrap()
    .into_iter()
    .filter(|m| m.job_id.is_some())
    .count();
    assert_eq!(replies, 1, "exactly one reply");
    stop.cancel();
}

/// In a room, the job of each mentioned character is stored with the message; a message that
/// mentions nobody stores none. The mention is answered even though Redis lost its job.
#[tokio::test]
async fn a_mention_in_a_room_is_answered_after_redis_lost_its_job() {
    let app = TestApp::spawn_with(Backend::Postgres, fast).await;
    let owner = app.register("owner").await;
    let room = app
        .post(
            "/api/v1/conversations",
            &owner.token,
            json!({"kind": "group", "title": "Room"}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    let luna = app.character(&owner, "Luna", true).await;
    app.post(
        &format!("/api/v1/conversations/{room}/characters"),
        &owner.token,
        json!({"character_id": luna}),
    )
    .await
    .expect(204);
    let quiet = app
        .post(
            &format!("/api/v1/conversations/{room}/messages"),
            &owner.token,
            json!({"content": "nobody is addressed here"}),
        )
        .await
        .expect(201);
    let quiet_id = quiet["message"]["id"].as_i64().unwrap();
    assert!(!in_outbox(&app, &format!("mention-{quiet_id}-{luna}")).await);
    let sent = app
        .post(
            &format!("/api/v1/conversations/{room}/messages"),
            &owner.token,
            json!({"content": "@Luna tell us a story"}),
        )
        .await
        .expect(202);
    let job_id = sent["job_id"].as_str().unwrap().to_owned();
    let message_id = sent["message"]["id"].as_i64().unwrap();
    assert_eq!(job_id, format!("mention-{message_id}-{luna}"));
    assert!(in_outbox(&app, &job_id).await);
    lose_redis_data(&app).await;

    let mut settings = app.env.settings.clone();
    fast(&mut settings);
    let stop = start_worker(&app, &settings);
    let row = wait_finished(&app, &job_id, Duration::from_secs(15)).await;
    assert_eq!(row.status, MessageStatus::Complete);
    assert_eq!(row.character_id, Some(domain::CharacterId(luna)));
    stop.cancel();
}

/// A job whose message was deleted before it was answered leaves nothing behind in the outbox
/// (the worker skips it without storing a reply).
#[tokio::test]
async fn the_job_of_a_deleted_message_is_cleared_from_the_outbox() {
    let app = TestApp::spawn_with(Backend::Sqlite, fast).await;
    let alice = app.register("alice").await;
    let luna = app.character(&alice, "Luna", false).await;
    let conv = app.ai_chat(&alice, luna).await;
    let sent = app
        .post(
            &format!("/api/v1/conversations/{conv}/messages"),
            &alice.token,
            json!({"content": "never mind"}),
        )
        .await
        .expect(202);
    let job_id = sent["job_id"].as_str().unwrap().to_owned();
    let id = sent["message"]["id"].as_i64().unwrap();
    app.delete(
        &format!("/api/v1/conversations/{conv}/messages/{id}"),
        &alice.token,
    )
    .await
    .expect(204);

    let mut settings = app.env.settings.clone();
    fast(&mut settings);
    let stop = start_worker(&app, &settings);
    wait_outbox_cleared(&app, &job_id, Duration::from_secs(10)).await;
    assert!(reply(&app, &job_id).await.is_none(), "nothing was answered");
    stop.cancel();
}
