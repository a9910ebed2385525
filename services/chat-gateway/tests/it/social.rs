//! Issue 19's conversation events (`message.reaction_added`/`_removed`, `message.pinned`/
//! `unpinned`) travel the conversation log like any other: live on one replica, replayed in
//! order after a resume on the other; a blocked person's reactions are not delivered to the
//! blocker.

use std::sync::Arc;
use std::time::Duration;

use chat::{Actor, ChatContext};
use db::messages::NewMessageRow;
use testkit::services::Backend;

use crate::helpers::{Client, Cluster};

fn actor(id: domain::UserId) -> Actor {
    Actor {
        id,
        username: "someone".into(),
        is_admin: false,
    }
}

async fn reactions_and_pins_replay_after_resume(backend: Backend) {
    let c = Cluster::start(backend).await;
    let (alice, token) = c.user("alice").await;
    let (bob, _) = c.user("bob").await;
    let conv = c.group(&[alice, bob]).await;
    let m = db::run(&c.pool, move |db| {
        db::messages::insert(db, NewMessageRow::user(conv, alice, "점심 뭐 먹을까요?"))
    })
    .await
    .unwrap()
    .id;
    let ctx = ChatContext {
        db: c.pool.clone(),
        bus: c.bus.clone(),
        settings: Arc::new(platform::Settings::defaults().unwrap()),
    };

    let (mut client, _) = Client::connect(&c.a, &token).await;
    let sub = client.subscribe(conv).await;
    let epoch = sub["epoch"].as_str().unwrap().to_owned();
    chat::reactions::add(&ctx, &actor(bob), conv, m, "🍜")
        .await
        .unwrap();
    let (last, live) = client.event().await;
    assert_eq!(live["type"], "message.reaction_added");
    assert_eq!(live["emoji"], "🍜");
    assert_eq!(live["user_id"], bob.0);
    assert_eq!(live["message_id"], m.0);
    assert_eq!(live["count"], 1);
    drop(client);

    // While away: alice reacts too, bob takes his back, alice (the owner) pins and unpins.
    chat::reactions::add(&ctx, &actor(alice), conv, m, "🍜")
        .await
        .unwrap();
    chat::reactions::remove(&ctx, &actor(bob), conv, m, "🍜")
        .await
        .unwrap();
    chat::pins::pin(&ctx, &actor(alice), conv, m).await.unwrap();
    chat::pins::unpin(&ctx, &actor(alice), conv, m)
        .await
        .unwrap();

    let (mut client, _) = Client::connect(&c.b, &token).await;
    let sub = client.resume(conv, &epoch, last).await;
    assert_eq!(sub["recovered"], true);
    let mut seen = Vec::new();
    for expected_offset in last + 1..=last + 4 {
        let (offset, event) = client.event().await;
        assert_eq!(offset, expected_offset, "in order, no gaps");
        seen.push(format!(
            "{} {}",
            event["type"].as_str().unwrap(),
            event["count"]
        ));
    }
    assert_eq!(
        seen,
        vec![
            "message.reaction_added 2",
            "message.reaction_removed 1",
            "message.pinned null",
            "message.unpinned null",
        ]
    );
    client.expect_silence(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn reactions_and_pins_replay_after_resume_on_postgres() {
    reactions_and_pins_replay_after_resume(Backend::Postgres).await;
}

#[tokio::test]
async fn reactions_and_pins_replay_after_resume_on_sqlite() {
    reactions_and_pins_replay_after_resume(Backend::Sqlite).await;
}

#[tokio::test]
async fn a_blocked_persons_reactions_do_not_reach_the_blocker() {
    let c = Cluster::start(Backend::Sqlite).await;
    let (alice, token) = c.user("alice").await;
    let (bob, _) = c.user("bob").await;
    let (carol, _) = c.user("carol").await;
    let conv = c.group(&[carol, alice, bob]).await;
    let m = db::run(&c.pool, move |db| {
        db::messages::insert(db, NewMessageRow::user(conv, carol, "hello"))
    })
    .await
    .unwrap()
    .id;
    db::run(&c.pool, move |db| db::blocks::block(db, alice, bob))
        .await
        .unwrap();
    let ctx = ChatContext {
        db: c.pool.clone(),
        bus: c.bus.clone(),
        settings: Arc::new(platform::Settings::defaults().unwrap()),
    };
    let (mut client, _) = Client::connect(&c.b, &token).await;
    client.subscribe(conv).await;
    chat::reactions::add(&ctx, &actor(bob), conv, m, "👎")
        .await
        .unwrap();
    chat::reactions::add(&ctx, &actor(carol), conv, m, "👍")
        .await
        .unwrap();
    let (_, event) = client.event().await;
    assert_eq!(event["type"], "message.reaction_added");
    assert_eq!(event["user_id"], carol.0, "bob's reaction was filtered out");
}

/// The next conversation event, past the inbox notifications the same user may get meanwhile.
async fn next_event(client: &mut Client) -> (u64, serde_json::Value) {
    let v = client.until(|f| f["type"] == "event").await;
    (v["offset"].as_u64().unwrap(), v["event"].clone())
}

/// Threads live on the conversation's log: a reply and the root's new counter reach a socket
/// subscribed to the conversation, and replay after a resume on the other replica.
#[tokio::test]
async fn thread_replies_and_counters_replay_after_resume() {
    let c = Cluster::start(Backend::Postgres).await;
    let (alice, token) = c.user("alice").await;
    let (bob, _) = c.user("bob").await;
    let conv = c.group(&[alice, bob]).await;
    let ctx = ChatContext {
        db: c.pool.clone(),
        bus: c.bus.clone(),
        settings: Arc::new(platform::Settings::defaults().unwrap()),
    };
    let root = chat::messages::send(
        &ctx,
        &actor(alice),
        conv,
        chat::messages::SendInput {
            content: "root".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .message
    .id;
    let reply = |text: &'static str| chat::messages::SendInput {
        content: text.into(),
        thread_root_id: Some(root),
        ..Default::default()
    };
    let (mut client, _) = Client::connect(&c.a, &token).await;
    let sub = client.subscribe(conv).await;
    let epoch = sub["epoch"].as_str().unwrap().to_owned();
    chat::messages::send(&ctx, &actor(bob), conv, reply("one"))
        .await
        .unwrap();
    let (_, created) = next_event(&mut client).await;
    assert_eq!(created["type"], "message.created");
    assert_eq!(created["message"]["thread_root_id"], root.0);
    let (last, counter) = next_event(&mut client).await;
    assert_eq!(counter["type"], "thread.updated");
    assert_eq!(counter["reply_count"], 1);
    drop(client);

    chat::messages::send(&ctx, &actor(bob), conv, reply("two"))
        .await
        .unwrap();
    let (mut client, _) = Client::connect(&c.b, &token).await;
    assert_eq!(client.resume(conv, &epoch, last).await["recovered"], true);
    let (_, created) = next_event(&mut client).await;
    assert_eq!(created["message"]["content"], "two");
    let (_, counter) = next_event(&mut client).await;
    assert_eq!(counter["root_id"], root.0);
    assert_eq!(counter["reply_count"], 2);
}

/// Marking read on one device moves the marker on the others, whichever replica they are on.
#[tokio::test]
async fn marking_read_reaches_the_readers_other_devices() {
    let c = Cluster::start(Backend::Sqlite).await;
    let (alice, token) = c.user("alice").await;
    let (bob, _) = c.user("bob").await;
    let conv = c.group(&[alice, bob]).await;
    let m = db::run(&c.pool, move |db| {
        db::messages::insert(db, NewMessageRow::user(conv, bob, "읽어 주세요"))
    })
    .await
    .unwrap()
    .id;
    let ctx = ChatContext {
        db: c.pool.clone(),
        bus: c.bus.clone(),
        settings: Arc::new(platform::Settings::defaults().unwrap()),
    };
    let (mut phone, _) = Client::connect(&c.a, &token).await;
    let (mut laptop, _) = Client::connect(&c.b, &token).await;
    chat::conversations::mark_read(&ctx, &actor(alice), conv, m)
        .await
        .unwrap();
    for device in [&mut phone, &mut laptop] {
        let frame = device.until(|f| f["type"] == "notification").await;
        assert_eq!(frame["event"]["type"], "conversation.read");
        assert_eq!(frame["event"]["conversation_id"], conv.0);
        assert_eq!(frame["event"]["message_id"], m.0);
    }
}

/// A mention reaches the mentioned person's sockets live as `notification.created`, on
/// whichever replica they are.
#[tokio::test]
async fn a_mention_arrives_live_in_the_inbox() {
    let c = Cluster::start(Backend::Postgres).await;
    let (alice, _) = c.user("alice").await;
    let (bob, token) = c.user("bob").await;
    let bob_name = db::run(&c.pool, move |db| db::users::find(db, bob))
        .await
        .unwrap()
        .username;
    let conv = c.group(&[alice, bob]).await;
    let ctx = ChatContext {
        db: c.pool.clone(),
        bus: c.bus.clone(),
        settings: Arc::new(platform::Settings::defaults().unwrap()),
    };
    let (mut bob_ws, _) = Client::connect(&c.b, &token).await;
    let sent = chat::messages::send(
        &ctx,
        &actor(alice),
        conv,
        chat::messages::SendInput {
            content: format!("@{bob_name} 확인 부탁해요"),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(sent.message.mentions, vec![bob]);
    let frame = bob_ws
        .until(|f| f["type"] == "notification" && f["event"]["type"] == "notification.created")
        .await;
    let n = &frame["event"]["notification"];
    assert_eq!(n["kind"], "mention");
    assert_eq!(n["actor_id"], alice.0);
    assert_eq!(n["message_id"], sent.message.id.0);
    assert_eq!(n["read"], false);
}
