//! Reactions (issue 19): members react to messages they can see; strangers, blocked DMs,
//! deleted messages, non-emoji and too many different reactions are refused and change nothing.

use domain::events::ConversationEvent;
use serde_json::{json, Value};

use crate::helpers::{Session, TestApp};
use testkit::both_backends;

async fn room_with(app: &TestApp, owner: &Session, members: &[&Session]) -> i64 {
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
    for m in members {
        app.post(
            &format!("/api/v1/conversations/{room}/members"),
            &owner.token,
            json!({"user_id": m.id}),
        )
        .await
        .expect(204);
    }
    room
}

pub async fn say(app: &TestApp, who: &Session, conv: i64, text: &str) -> i64 {
    app.post(
        &format!("/api/v1/conversations/{conv}/messages"),
        &who.token,
        json!({"content": text}),
    )
    .await
    .expect(201)["message"]["id"]
        .as_i64()
        .unwrap()
}

fn reaction_url(conv: i64, message: i64, emoji: &str) -> String {
    let encoded: String = emoji.bytes().map(|b| format!("%{b:02X}")).collect();
    format!("/api/v1/conversations/{conv}/messages/{message}/reactions/{encoded}")
}

async fn reactions_seen_by(app: &TestApp, who: &Session, conv: i64, message: i64) -> Value {
    let page = app
        .get(
            &format!("/api/v1/conversations/{conv}/messages"),
            &who.token,
        )
        .await
        .expect(200);
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == message)
        .unwrap()["reactions"]
        .clone()
}

both_backends!(
    members_react_and_everyone_sees_counts_with_their_own_marked,
    |app| {
        let owner = app.register("owner").await;
        let bob = app.register("bob").await;
        let room = room_with(&app, &owner, &[&bob]).await;
        let m = say(&app, &owner, room, "안녕하세요 여러분").await;

        let after = app
            .put(&reaction_url(room, m, "👍"), &bob.token, json!({}))
            .await
            .expect(200);
        assert_eq!(
            after["reactions"],
            json!([{"emoji": "👍", "count": 1, "mine": true}])
        );
        // Adding the same reaction again changes nothing.
        app.put(&reaction_url(room, m, "👍"), &bob.token, json!({}))
            .await
            .expect(200);
        app.put(&reaction_url(room, m, "👍"), &owner.token, json!({}))
            .await
            .expect(200);
        app.put(&reaction_url(room, m, "🇰🇷"), &owner.token, json!({}))
            .await
            .expect(200);
        app.put(&reaction_url(room, m, ":tada:"), &bob.token, json!({}))
            .await
            .expect(200);

        assert_eq!(
            reactions_seen_by(&app, &bob, room, m).await,
            json!([
                {"emoji": "👍", "count": 2, "mine": true},
                {"emoji": "🇰🇷", "count": 1, "mine": false},
                {"emoji": ":tada:", "count": 1, "mine": true},
            ])
        );
        assert_eq!(
            reactions_seen_by(&app, &owner, room, m).await[0],
            json!({"emoji": "👍", "count": 2, "mine": true})
        );

        let removed = app
            .delete(&reaction_url(room, m, "👍"), &bob.token)
            .await
            .expect(200);
        assert_eq!(
            removed["reactions"][0],
            json!({"emoji": "👍", "count": 1, "mine": false})
        );
        // Removing what is not there is no error and no event.
        app.delete(&reaction_url(room, m, "👍"), &bob.token)
            .await
            .expect(200);

        let events: Vec<ConversationEvent> = app
            .events(room)
            .await
            .into_iter()
            .map(|e| e.event)
            .collect();
        let reactions: Vec<(String, i64, u32)> = events
            .iter()
            .filter_map(|e| match e {
                ConversationEvent::ReactionAdded {
                    emoji,
                    user_id,
                    count,
                    message_id,
                    ..
                } => {
                    assert_eq!(message_id.0, m);
                    Some((format!("+{emoji}"), user_id.0, *count))
                }
                ConversationEvent::ReactionRemoved {
                    emoji,
                    user_id,
                    count,
                    ..
                } => Some((format!("-{emoji}"), user_id.0, *count)),
                _ => None,
            })
            .collect();
        assert_eq!(
            reactions,
            vec![
                ("+👍".to_owned(), bob.id, 1),
                ("+👍".to_owned(), owner.id, 2),
                ("+🇰🇷".to_owned(), owner.id, 1),
                ("+:tada:".to_owned(), bob.id, 1),
                ("-👍".to_owned(), bob.id, 1),
            ],
            "one event per change, none for repeats"
        );
    }
);

both_backends!(
    strangers_bad_emoji_deleted_messages_and_floods_are_refused,
    |app| {
        let owner = app.register("owner").await;
        let bob = app.register("bob").await;
        let stranger = app.register("stranger").await;
        let room = room_with(&app, &owner, &[&bob]).await;
        let m = say(&app, &owner, room, "hello").await;

        app.put(&reaction_url(room, m, "👍"), &stranger.token, json!({}))
            .await
            .expect(404);
        app.delete(&reaction_url(room, m, "👍"), &stranger.token)
            .await
            .expect(404);
        // A stranger with a bad emoji still learns only "not found".
        app.put(&reaction_url(room, m, "nope"), &stranger.token, json!({}))
            .await
            .expect(404);
        for bad in ["a", "좋아요", "👍👍", ":not a name:"] {
            let body = app
                .put(&reaction_url(room, m, bad), &bob.token, json!({}))
                .await
                .expect(422);
            assert_eq!(body["errors"][0]["field"], "emoji", "{bad}");
        }
        // A message of another conversation is not found here.
        let other = room_with(&app, &owner, &[]).await;
        let elsewhere = say(&app, &owner, other, "elsewhere").await;
        app.put(&reaction_url(room, elsewhere, "👍"), &bob.token, json!({}))
            .await
            .expect(404);

        // Twenty different reactions at most; more of an existing one is fine.
        let emoji: Vec<String> = (0..20)
            .map(|i| char::from_u32(0x1F600 + i).unwrap().to_string())
            .collect();
        for e in &emoji {
            app.put(&reaction_url(room, m, e), &owner.token, json!({}))
                .await
                .expect(200);
        }
        app.put(&reaction_url(room, m, "🚀"), &bob.token, json!({}))
            .await
            .expect(409);
        app.put(&reaction_url(room, m, &emoji[0]), &bob.token, json!({}))
            .await
            .expect(200);
        assert_eq!(
            reactions_seen_by(&app, &bob, room, m)
                .await
                .as_array()
                .unwrap()
                .len(),
            20
        );

        app.delete(
            &format!("/api/v1/conversations/{room}/messages/{m}"),
            &owner.token,
        )
        .await
        .expect(204);
        app.put(&reaction_url(room, m, "👍"), &bob.token, json!({}))
            .await
            .expect(409);
        // Taking a reaction back still works on a deleted message.
        app.delete(&reaction_url(room, m, &emoji[0]), &bob.token)
            .await
            .expect(200);
    }
);

both_backends!(
    a_block_stops_reactions_in_a_dm_and_hides_the_blocked_authors_messages,
    |app| {
        let alice = app.register("alice").await;
        let bob = app.register("bob").await;
        let carol = app.register("carol").await;
        let dm = app
            .post(
                "/api/v1/conversations",
                &alice.token,
                json!({"kind": "direct", "user_id": bob.id}),
            )
            .await
            .expect(201)["id"]
            .as_i64()
            .unwrap();
        let m = say(&app, &alice, dm, "hi").await;
        app.put(&reaction_url(dm, m, "❤️"), &bob.token, json!({}))
            .await
            .expect(200);
        app.post("/api/v1/blocks", &alice.token, json!({"user_id": bob.id}))
            .await
            .expect(204);
        app.put(&reaction_url(dm, m, "😀"), &bob.token, json!({}))
            .await
            .expect(403);
        assert_eq!(
            reactions_seen_by(&app, &alice, dm, m).await,
            json!([{"emoji": "❤️", "count": 1, "mine": false}]),
            "the refused reaction changed nothing"
        );

        // In a room, a person one blocked writes messages one does not see: not reactable either.
        let room = room_with(&app, &carol, &[&alice, &bob]).await;
        let from_bob = say(&app, &bob, room, "from bob").await;
        app.put(&reaction_url(room, from_bob, "👍"), &alice.token, json!({}))
            .await
            .expect(404);
        app.put(&reaction_url(room, from_bob, "👍"), &carol.token, json!({}))
            .await
            .expect(200);
    }
);
