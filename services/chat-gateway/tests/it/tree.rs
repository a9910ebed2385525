//! The conversation-tree events of issue 15 (`message.variant_added`,
//! `message.variant_selected`, `conversation.path_changed`) travel the conversation log like any
//! other: live on one replica, and replayed in order after a resume on the other.

use std::sync::Arc;

use chat::{Actor, ChatContext};
use db::messages::{AssistantReply, NewMessageRow};
use domain::{ConversationKind, MessageStatus};
use testkit::services::Backend;

use crate::helpers::{Client, Cluster};

#[tokio::test]
async fn tree_events_replay_on_another_replica_after_resume() {
    let c = Cluster::start(Backend::Sqlite).await;
    let (alice, token) = c.user("alice").await;
    let conv = c.conversation(ConversationKind::AiChat, &[alice]).await;
    let asked = db::run(&c.pool, move |db| {
        let asked = db::messages::insert(db, NewMessageRow::user(conv, alice, "hi"))?;
        db::messages::upsert_assistant_reply(
            db,
            AssistantReply {
                conversation_id: conv,
                character_id: None,
                job_id: format!("reply-{}", asked.id),
                reply_to_id: Some(asked.id),
                content: "first".into(),
                status: MessageStatus::Complete,
                model: None,
                prompt_tokens: None,
                completion_tokens: None,
            },
        )?;
        Ok(asked)
    })
    .await
    .unwrap();
    let ctx = ChatContext {
        db: c.pool.clone(),
        bus: c.bus.clone(),
        settings: Arc::new(platform::Settings::defaults().unwrap()),
    };
    let actor = Actor {
        id: alice,
        username: "alice".into(),
        is_admin: false,
    };

    let (mut client, _) = Client::connect(&c.a, &token).await;
    let sub = client.subscribe(conv).await;
    let epoch = sub["epoch"].as_str().unwrap().to_owned();
    let started = chat::generations::regenerate(&ctx, &actor, conv)
        .await
        .unwrap();
    let (last, event) = client.event().await;
    assert_eq!(event["type"], "message.variant_added");
    assert_eq!(event["index"], 1);
    assert_eq!(event["count"], 2);
    assert_eq!(event["message"]["id"], started.message.id.0);
    drop(client);

    // While away: the variant finishes, the first is chosen again, then an edit-and-rerun.
    let job = started.job_id.clone();
    db::run(&c.pool, move |db| {
        db::messages::upsert_assistant_reply(
            db,
            AssistantReply {
                conversation_id: conv,
                character_id: None,
                job_id: job,
                reply_to_id: Some(asked.id),
                content: "second".into(),
                status: MessageStatus::Complete,
                model: None,
                prompt_tokens: None,
                completion_tokens: None,
            },
        )
    })
    .await
    .unwrap();
    chat::tree::select_variant(&ctx, &actor, conv, started.message.id, 0)
        .await
        .unwrap();
    let rerun = chat::tree::rerun(&ctx, &actor, conv, asked.id, "hello")
        .await
        .unwrap();

    let (mut client, _) = Client::connect(&c.b, &token).await;
    let sub = client.resume(conv, &epoch, last).await;
    assert_eq!(sub["recovered"], true);
    let (offset, selected) = client.event().await;
    assert_eq!(offset, last + 1);
    assert_eq!(selected["type"], "message.variant_selected");
    assert_eq!(selected["index"], 0);
    assert_eq!(selected["count"], 2);
    let (_, created) = client.event().await;
    assert_eq!(created["type"], "message.created");
    assert_eq!(created["message"]["fork"]["count"], 2);
    let (_, changed) = client.event().await;
    assert_eq!(changed["type"], "conversation.path_changed");
    assert_eq!(changed["message_id"], rerun.message.id.0);
    assert_eq!(changed["leaf_id"], rerun.message.id.0);
}
