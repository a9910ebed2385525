//! People talking to people: DMs, groups and roles, friends, blocks, servers and channels,
//! message search — with strangers, non-members, members without the role and blocked users.

use domain::events::{ConversationEvent, EventPayload};
use domain::ConversationId;
use serde_json::{json, Value};

use crate::helpers::{Session, TestApp};
use testkit::both_backends;

async fn events(app: &TestApp, conversation: i64) -> Vec<String> {
    let recovery = app
        .state
        .bus
        .read_since(ConversationId(conversation), None, 0, 1000)
        .await
        .unwrap();
    recovery
        .entries
        .iter()
        .map(|e| {
            serde_json::to_value(e.decode().unwrap()).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

both_backends!(
    one_direct_conversation_per_pair_and_none_across_a_block,
    |app| {
        let a = app.register("alice").await;
        let b = app.register("bob").await;
        let c = app.register("carol").await;
        let first = app
            .post(
                "/api/v1/conversations",
                &a.token,
                json!({"kind": "direct", "user_id": b.id}),
            )
            .await
            .expect(201);
        let again = app
            .post(
                "/api/v1/conversations",
                &b.token,
                json!({"kind": "direct", "user_id": a.id}),
            )
            .await
            .expect(200);
        assert_eq!(first["id"], again["id"]);
        let dm = first["id"].as_i64().unwrap();
        app.post(
            &format!("/api/v1/conversations/{dm}/messages"),
            &b.token,
            json!({"content": "hey"}),
        )
        .await
        .expect(201);
        app.get(&format!("/api/v1/conversations/{dm}"), &c.token)
            .await
            .expect(404);

        app.post(
            "/api/v1/conversations",
            &a.token,
            json!({"kind": "direct", "user_id": a.id}),
        )
        .await
        .expect(422);
        app.post(
            "/api/v1/conversations",
            &a.token,
            json!({"kind": "direct", "user_id": 999_999}),
        )
        .await
        .expect(422);
        app.post("/api/v1/conversations", &a.token, json!({"kind": "direct"}))
            .await
            .expect(422);

        app.post("/api/v1/blocks", &c.token, json!({"user_id": a.id}))
            .await
            .expect(204);
        app.post(
            "/api/v1/conversations",
            &a.token,
            json!({"kind": "direct", "user_id": c.id}),
        )
        .await
        .expect(403);
        app.post(
            "/api/v1/conversations",
            &c.token,
            json!({"kind": "direct", "user_id": a.id}),
        )
        .await
        .expect(403);
        // A block after the DM exists stops messages in it.
        app.post("/api/v1/blocks", &b.token, json!({"user_id": a.id}))
            .await
            .expect(204);
        app.post(
            &format!("/api/v1/conversations/{dm}/messages"),
            &a.token,
            json!({"content": "hello?"}),
        )
        .await
        .expect(403);
        app.delete(&format!("/api/v1/blocks/{}", a.id), &b.token)
            .await
            .expect(204);
        app.post(
            &format!("/api/v1/conversations/{dm}/messages"),
            &a.token,
            json!({"content": "hello!"}),
        )
        .await
        .expect(201);
    }
);

both_backends!(group_roles_invite_remove_transfer_and_leave, |app| {
    let owner = app.register("owner").await;
    let admin = app.register("admin1").await;
    let member = app.register("member").await;
    let outsider = app.register("outsider").await;
    let room = app.group(&owner, false).await;
    let members = format!("/api/v1/conversations/{room}/members");

    app.post(&members, &owner.token, json!({"user_id": admin.id}))
        .await
        .expect(204);
    app.patch(
        &format!("{members}/{}", admin.id),
        &owner.token,
        json!({"role": "admin"}),
    )
    .await
    .expect(204);
    app.post(&members, &admin.token, json!({"user_id": member.id}))
        .await
        .expect(204);
    app.post(&members, &member.token, json!({"user_id": outsider.id}))
        .await
        .expect(403);
    app.post(&members, &outsider.token, json!({"user_id": outsider.id}))
        .await
        .expect(404);
    app.post(
        &format!("/api/v1/conversations/{room}/join"),
        &outsider.token,
        json!({}),
    )
    .await
    .expect(404);
    app.post(&members, &owner.token, json!({"user_id": 999_999}))
        .await
        .expect(422);

    let list = app.get(&members, &member.token).await.expect(200);
    let roles: Vec<(String, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["username"].as_str().unwrap().to_owned(),
                m["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(roles.len(), 3);
    assert!(roles.contains(&("admin1".into(), "admin".into())));
    app.get(&members, &outsider.token).await.expect(404);

    // Admins cannot touch the owner or other admins; members cannot remove anyone.
    app.delete(&format!("{members}/{}", owner.id), &admin.token)
        .await
        .expect(403);
    app.patch(
        &format!("{members}/{}", owner.id),
        &admin.token,
        json!({"role": "member"}),
    )
    .await
    .expect(403);
    app.delete(&format!("{members}/{}", admin.id), &member.token)
        .await
        .expect(403);
    app.patch(
        &format!("{members}/{}", member.id),
        &owner.token,
        json!({"role": "king"}),
    )
    .await
    .expect(422);

    // The owner must transfer before leaving.
    app.delete(&format!("{members}/{}", owner.id), &owner.token)
        .await
        .expect(409);
    app.patch(
        &format!("{members}/{}", admin.id),
        &owner.token,
        json!({"role": "owner"}),
    )
    .await
    .expect(204);
    app.delete(&format!("{members}/{}", owner.id), &owner.token)
        .await
        .expect(204);
    app.get(&format!("/api/v1/conversations/{room}"), &owner.token)
        .await
        .expect(404);

    // The new owner removes the member: their access ends at once.
    app.delete(&format!("{members}/{}", member.id), &admin.token)
        .await
        .expect(204);
    app.get(
        &format!("/api/v1/conversations/{room}/messages"),
        &member.token,
    )
    .await
    .expect(404);

    let log = events(&app, room).await;
    assert!(log.contains(&"member.joined".to_owned()));
    assert!(log.contains(&"member.role_changed".to_owned()));
    assert_eq!(log.iter().filter(|t| *t == "member.left").count(), 2);
});

both_backends!(public_groups_are_listed_joinable_and_limited, |app| {
    let owner = app.register("owner").await;
    let b = app.register("bob").await;
    let c = app.register("carol").await;
    let room = app
        .post(
            "/api/v1/conversations",
            &owner.token,
            json!({"kind": "group", "title": "Lobby", "visibility": "public", "member_limit": 2}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    let private = app.group(&owner, false).await;
    let listed = app
        .get("/api/v1/conversations/public", &b.token)
        .await
        .expect(200);
    let ids: Vec<i64> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_i64().unwrap())
        .collect();
    assert!(ids.contains(&room) && !ids.contains(&private));
    app.post(
        &format!("/api/v1/conversations/{room}/join"),
        &b.token,
        json!({}),
    )
    .await
    .expect(204);
    app.post(
        &format!("/api/v1/conversations/{room}/join"),
        &c.token,
        json!({}),
    )
    .await
    .expect(409);
    app.post(
        &format!("/api/v1/conversations/{room}/messages"),
        &b.token,
        json!({"content": "hi all"}),
    )
    .await
    .expect(201);

    for bad in [
        json!({"kind": "group"}),
        json!({"kind": "group", "title": ""}),
        json!({"kind": "group", "title": "x", "member_limit": 1}),
        json!({"kind": "group", "title": "x", "member_limit": 1_000_000}),
        json!({"kind": "group", "title": "x", "visibility": "secret"}),
    ] {
        let r = app
            .post("/api/v1/conversations", &owner.token, bad.clone())
            .await;
        assert_eq!(r.status, 422, "{bad} → {}", r.body);
    }
});

both_backends!(friend_requests_notify_and_follow_their_life_cycle, |app| {
    let a = app.register("alice").await;
    let b = app.register("bob").await;
    let c = app.register("carol").await;
    let mut subscriber = app.state.bus.subscriber().await.unwrap();
    subscriber
        .subscribe_user(domain::UserId(b.id))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;

    let request = app
        .post(
            "/api/v1/friends/requests",
            &a.token,
            json!({"user_id": b.id}),
        )
        .await
        .expect(201);
    let id = request["id"].as_i64().unwrap();
    let notice = tokio::time::timeout(std::time::Duration::from_secs(5), subscriber.recv())
        .await
        .unwrap()
        .unwrap();
    match notice {
        bus::SubscriberEvent::User { payload, .. } => {
            let v: Value = serde_json::from_str(&payload).unwrap();
            assert_eq!(v["type"], "friend.request");
            assert_eq!(v["from_username"], "alice");
        }
        other => panic!("unexpected {other:?}"),
    }
    app.post(
        "/api/v1/friends/requests",
        &a.token,
        json!({"user_id": b.id}),
    )
    .await
    .expect(409);
    let pending = app
        .get("/api/v1/friends/requests", &b.token)
        .await
        .expect(200);
    assert_eq!(pending["incoming"][0]["id"], id);
    app.post(
        &format!("/api/v1/friends/requests/{id}/accept"),
        &a.token,
        json!({}),
    )
    .await
    .expect(403);
    app.post(
        &format!("/api/v1/friends/requests/{id}/accept"),
        &c.token,
        json!({}),
    )
    .await
    .expect(404);
    app.delete(&format!("/api/v1/friends/requests/{id}"), &b.token)
        .await
        .expect(403);
    app.post(
        &format!("/api/v1/friends/requests/{id}/accept"),
        &b.token,
        json!({}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/friends/requests/{id}/reject"),
        &b.token,
        json!({}),
    )
    .await
    .expect(409);
    let friends = app.get("/api/v1/friends", &a.token).await.expect(200);
    assert_eq!(friends[0]["user"]["username"], "bob");
    app.delete(&format!("/api/v1/friends/{}", b.id), &a.token)
        .await
        .expect(204);
    app.delete(&format!("/api/v1/friends/{}", b.id), &a.token)
        .await
        .expect(404);

    // Asking someone who asked you accepts; a rejected request may be asked again; cancel works.
    let from_c = app
        .post(
            "/api/v1/friends/requests",
            &c.token,
            json!({"user_id": a.id}),
        )
        .await
        .expect(201);
    app.post(
        "/api/v1/friends/requests",
        &a.token,
        json!({"user_id": c.id}),
    )
    .await
    .expect(200);
    assert_eq!(
        app.get("/api/v1/friends", &c.token)
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let _ = from_c;
    let to_b = app
        .post(
            "/api/v1/friends/requests",
            &c.token,
            json!({"user_id": b.id}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    app.post(
        &format!("/api/v1/friends/requests/{to_b}/reject"),
        &b.token,
        json!({}),
    )
    .await
    .expect(200);
    let again = app
        .post(
            "/api/v1/friends/requests",
            &c.token,
            json!({"user_id": b.id}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    app.delete(&format!("/api/v1/friends/requests/{again}"), &c.token)
        .await
        .expect(204);

    app.post(
        "/api/v1/friends/requests",
        &a.token,
        json!({"user_id": a.id}),
    )
    .await
    .expect(422);
    app.post(
        "/api/v1/friends/requests",
        &a.token,
        json!({"user_id": "x"}),
    )
    .await
    .expect(422);
});

both_backends!(blocks_stop_friend_requests_and_end_friendships, |app| {
    let a = app.register("alice").await;
    let b = app.register("bob").await;
    let id = app
        .post(
            "/api/v1/friends/requests",
            &a.token,
            json!({"user_id": b.id}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    app.post(
        &format!("/api/v1/friends/requests/{id}/accept"),
        &b.token,
        json!({}),
    )
    .await
    .expect(200);
    app.post("/api/v1/blocks", &b.token, json!({"user_id": a.id}))
        .await
        .expect(204);
    assert!(app
        .get("/api/v1/friends", &a.token)
        .await
        .expect(200)
        .as_array()
        .unwrap()
        .is_empty());
    app.post(
        "/api/v1/friends/requests",
        &a.token,
        json!({"user_id": b.id}),
    )
    .await
    .expect(403);
    app.post(
        "/api/v1/friends/requests",
        &b.token,
        json!({"user_id": a.id}),
    )
    .await
    .expect(403);
    let blocks = app.get("/api/v1/blocks", &b.token).await.expect(200);
    assert_eq!(blocks[0]["user"]["username"], "alice");
    assert!(app
        .get("/api/v1/blocks", &a.token)
        .await
        .expect(200)
        .as_array()
        .unwrap()
        .is_empty());
    app.post("/api/v1/blocks", &b.token, json!({"user_id": b.id}))
        .await
        .expect(422);
    app.post("/api/v1/blocks", &b.token, json!({"user_id": 999_999}))
        .await
        .expect(422);
    app.delete(&format!("/api/v1/blocks/{}", a.id), &a.token)
        .await
        .expect(404);
    // Someone who blocked you cannot be pulled into your group.
    let room = app.group(&a, false).await;
    app.post(
        &format!("/api/v1/conversations/{room}/members"),
        &a.token,
        json!({"user_id": b.id}),
    )
    .await
    .expect(403);
});

both_backends!(servers_channels_and_roles, |app| {
    let owner = app.register("owner").await;
    let mate = app.register("mate").await;
    let stranger = app.register("stranger").await;
    let server = app
        .post(
            "/api/v1/servers",
            &owner.token,
            json!({"name": "Guild", "visibility": "private"}),
        )
        .await
        .expect(201);
    let id = server["id"].as_i64().unwrap();
    assert_eq!(server["channels"][0]["title"], "general");
    let general = server["channels"][0]["id"].as_i64().unwrap();
    let code = server["invite_code"].as_str().unwrap().to_owned();

    app.get(&format!("/api/v1/servers/{id}"), &stranger.token)
        .await
        .expect(404);
    app.post(
        &format!("/api/v1/servers/{id}/join"),
        &stranger.token,
        json!({}),
    )
    .await
    .expect(404);
    app.get(
        &format!("/api/v1/conversations/{general}/messages"),
        &stranger.token,
    )
    .await
    .expect(404);
    app.post(
        "/api/v1/servers/join",
        &mate.token,
        json!({"invite_code": "nope"}),
    )
    .await
    .expect(404);
    let joined = app
        .post(
            "/api/v1/servers/join",
            &mate.token,
            json!({"invite_code": code}),
        )
        .await
        .expect(200);
    assert_eq!(joined["role"], "member");

    // Channel membership follows the server's.
    app.post(
        &format!("/api/v1/conversations/{general}/messages"),
        &mate.token,
        json!({"content": "hello guild"}),
    )
    .await
    .expect(201);
    let history = app
        .get(
            &format!("/api/v1/conversations/{general}/messages"),
            &owner.token,
        )
        .await
        .expect(200);
    assert_eq!(history["items"][0]["author_username"], "mate");

    // Members cannot manage channels or the server; the owner can.
    app.post(
        &format!("/api/v1/servers/{id}/channels"),
        &mate.token,
        json!({"name": "random"}),
    )
    .await
    .expect(403);
    app.patch(
        &format!("/api/v1/servers/{id}"),
        &mate.token,
        json!({"name": "Mine"}),
    )
    .await
    .expect(403);
    app.delete(&format!("/api/v1/servers/{id}"), &mate.token)
        .await
        .expect(403);
    let channel = app
        .post(
            &format!("/api/v1/servers/{id}/channels"),
            &owner.token,
            json!({"name": "Off Topic"}),
        )
        .await
        .expect(201);
    assert_eq!(channel["title"], "off-topic");
    let channel = channel["id"].as_i64().unwrap();
    app.post(
        &format!("/api/v1/servers/{id}/channels"),
        &owner.token,
        json!({"name": ""}),
    )
    .await
    .expect(422);
    app.patch(
        &format!("/api/v1/servers/{id}/channels/{channel}"),
        &owner.token,
        json!({"name": "memes"}),
    )
    .await
    .expect(200);
    app.patch(
        &format!("/api/v1/servers/{id}/channels/{general}"),
        &mate.token,
        json!({"name": "x"}),
    )
    .await
    .expect(403);
    let channels = app
        .get(&format!("/api/v1/servers/{id}/channels"), &mate.token)
        .await
        .expect(200);
    assert_eq!(channels.as_array().unwrap().len(), 2);

    // Promote to admin: admins manage channels but not the server.
    app.patch(
        &format!("/api/v1/servers/{id}/members/{}", mate.id),
        &owner.token,
        json!({"role": "admin"}),
    )
    .await
    .expect(204);
    app.delete(
        &format!("/api/v1/servers/{id}/channels/{channel}"),
        &mate.token,
    )
    .await
    .expect(204);
    app.patch(
        &format!("/api/v1/servers/{id}"),
        &mate.token,
        json!({"name": "x"}),
    )
    .await
    .expect(403);
    app.delete(
        &format!("/api/v1/servers/{id}/members/{}", owner.id),
        &mate.token,
    )
    .await
    .expect(403);

    // The owner cannot leave without transferring; after transferring they can.
    app.post(
        &format!("/api/v1/servers/{id}/leave"),
        &owner.token,
        json!({}),
    )
    .await
    .expect(409);
    app.patch(
        &format!("/api/v1/servers/{id}/members/{}", mate.id),
        &owner.token,
        json!({"role": "owner"}),
    )
    .await
    .expect(204);
    let view = app
        .get(&format!("/api/v1/servers/{id}"), &mate.token)
        .await
        .expect(200);
    assert_eq!(view["owner_id"], mate.id);
    assert_eq!(view["role"], "owner");
    app.post(
        &format!("/api/v1/servers/{id}/leave"),
        &owner.token,
        json!({}),
    )
    .await
    .expect(204);
    app.get(
        &format!("/api/v1/conversations/{general}/messages"),
        &owner.token,
    )
    .await
    .expect(404);
    let mine = app.get("/api/v1/servers", &mate.token).await.expect(200);
    assert_eq!(mine.as_array().unwrap().len(), 1);
    app.delete(&format!("/api/v1/servers/{id}"), &mate.token)
        .await
        .expect(204);
    app.get(&format!("/api/v1/servers/{id}"), &mate.token)
        .await
        .expect(404);
});

both_backends!(public_servers_are_listed_and_joined, |app| {
    let owner = app.register("owner").await;
    let b = app.register("bob").await;
    let id = app
        .post(
            "/api/v1/servers",
            &owner.token,
            json!({"name": "Open", "visibility": "public"}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    let seen = app
        .get(&format!("/api/v1/servers/{id}"), &b.token)
        .await
        .expect(200);
    assert!(
        seen.get("invite_code").is_none(),
        "outsiders do not see the invite code"
    );
    let listed = app
        .get("/api/v1/servers/public", &b.token)
        .await
        .expect(200);
    assert_eq!(listed["items"][0]["id"], id);
    app.get(&format!("/api/v1/servers/{id}/members"), &b.token)
        .await
        .expect(403);
    app.post(&format!("/api/v1/servers/{id}/join"), &b.token, json!({}))
        .await
        .expect(204);
    assert_eq!(
        app.get(&format!("/api/v1/servers/{id}/members"), &b.token)
            .await
            .expect(200)
            .as_array()
            .unwrap()
            .len(),
        2
    );
    app.post(&format!("/api/v1/servers/{id}/leave"), &b.token, json!({}))
        .await
        .expect(204);
    app.post("/api/v1/servers", &owner.token, json!({"name": ""}))
        .await
        .expect(422);
    app.post(
        "/api/v1/servers",
        &owner.token,
        json!({"name": "x", "icon_url": "nope"}),
    )
    .await
    .expect(422);
});

both_backends!(messages_support_replies_attachments_and_search, |app| {
    let a = app.register("alice").await;
    let b = app.register("bob").await;
    let room = app.group(&a, false).await;
    app.post(
        &format!("/api/v1/conversations/{room}/members"),
        &a.token,
        json!({"user_id": b.id}),
    )
    .await
    .expect(204);
    let path = format!("/api/v1/conversations/{room}/messages");
    let first = app
        .post(&path, &a.token, json!({"content": "where is the picnic?"}))
        .await
        .expect(201);
    let first_id = first["message"]["id"].as_i64().unwrap();
    let reply = app
        .post(
            &path,
            &b.token,
            json!({"content": "by the lake", "reply_to_id": first_id}),
        )
        .await
        .expect(201);
    assert_eq!(reply["message"]["reply_to_id"], first_id);
    app.post(&path, &b.token, json!({"content": "map", "message_type": "image", "metadata": {"url": "https://img.example.com/map.png", "width": 10}})).await.expect(201);

    // Owners moderate others' messages in groups; members cannot.
    let reply_id = reply["message"]["id"].as_i64().unwrap();
    app.delete(&format!("{path}/{first_id}"), &b.token)
        .await
        .expect(403);
    app.delete(&format!("{path}/{reply_id}"), &a.token)
        .await
        .expect(204);

    let found = app
        .get(
            &format!("/api/v1/conversations/{room}/messages/search?q=PICNIC"),
            &b.token,
        )
        .await
        .expect(200);
    assert_eq!(found["items"].as_array().unwrap().len(), 1);
    let everywhere = app
        .get("/api/v1/messages/search?q=picnic", &a.token)
        .await
        .expect(200);
    assert_eq!(everywhere["items"][0]["id"], first_id);
    let outsider = app.register("carol").await;
    app.get(
        &format!("/api/v1/conversations/{room}/messages/search?q=picnic"),
        &outsider.token,
    )
    .await
    .expect(404);
    assert!(app
        .get("/api/v1/messages/search?q=picnic", &outsider.token)
        .await
        .expect(200)["items"]
        .as_array()
        .unwrap()
        .is_empty());
    app.get("/api/v1/messages/search?q=", &a.token)
        .await
        .expect(422);
    app.get("/api/v1/messages/search", &a.token)
        .await
        .expect(422);
});

both_backends!(characters_join_groups_by_their_managers, |app| {
    let a = app.register("alice").await;
    let b = app.register("bob").await;
    let luna = app.character(&a, "Luna", false).await;
    let room = app.group(&a, false).await;
    app.post(
        &format!("/api/v1/conversations/{room}/members"),
        &a.token,
        json!({"user_id": b.id}),
    )
    .await
    .expect(204);
    app.post(
        &format!("/api/v1/conversations/{room}/characters"),
        &b.token,
        json!({"character_id": luna}),
    )
    .await
    .expect(403);
    app.post(
        &format!("/api/v1/conversations/{room}/characters"),
        &a.token,
        json!({"character_id": luna}),
    )
    .await
    .expect(204);
    app.post(
        &format!("/api/v1/conversations/{room}/characters"),
        &a.token,
        json!({"character_id": 999_999}),
    )
    .await
    .expect(422);
    app.delete(
        &format!("/api/v1/conversations/{room}/characters/{luna}"),
        &a.token,
    )
    .await
    .expect(204);
    app.delete(
        &format!("/api/v1/conversations/{room}/characters/{luna}"),
        &a.token,
    )
    .await
    .expect(404);
    let _ = EventPayload::from(ConversationEvent::MemberLeft {
        user_id: domain::UserId(b.id),
    });
});

// Issue 13, hole 7: blocks held only on the socket; REST history, both searches, the
// conversation list's preview and unread counts still showed the blocked person's messages.
both_backends!(
    a_blocked_persons_messages_are_hidden_everywhere_over_rest,
    |app| {
        let owner = app.register("owner").await;
        let bob = app.register("bob").await;
        let carol = app.register("carol").await;
        let room = app.group(&owner, false).await;
        for who in [&bob, &carol] {
            app.post(
                &format!("/api/v1/conversations/{room}/members"),
                &owner.token,
                json!({"user_id": who.id}),
            )
            .await
            .expect(204);
        }
        let say = |who: &Session, text: &'static str| {
            let token = who.token.clone();
            let app = &app;
            async move {
                app.post(
                    &format!("/api/v1/conversations/{room}/messages"),
                    &token,
                    json!({"content": text}),
                )
                .await
                .expect(201)["message"]["id"]
                    .as_i64()
                    .unwrap()
            }
        };
        let from_owner = say(&owner, "pineapple from the owner").await;
        app.post("/api/v1/blocks", &bob.token, json!({"user_id": carol.id}))
            .await
            .expect(204);
        let from_carol = say(&carol, "pineapple from carol").await;

        let history = app
            .get(
                &format!("/api/v1/conversations/{room}/messages"),
                &bob.token,
            )
            .await
            .expect(200);
        let ids: Vec<i64> = history["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_i64().unwrap())
            .collect();
        assert!(
            ids.contains(&from_owner) && !ids.contains(&from_carol),
            "{ids:?}"
        );
        for path in [
            "/api/v1/messages/search?q=pineapple".to_owned(),
            format!("/api/v1/conversations/{room}/messages/search?q=pineapple"),
        ] {
            let found = app.get(&path, &bob.token).await.expect(200);
            let ids: Vec<i64> = found["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_i64().unwrap())
                .collect();
            assert_eq!(ids, [from_owner], "{path}");
        }
        let list = app
            .get("/api/v1/conversations", &bob.token)
            .await
            .expect(200);
        let entry = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == room)
            .unwrap()
            .clone();
        assert_eq!(entry["last_message"]["id"], from_owner, "{entry}");
        assert_eq!(entry["unread_count"], 1, "{entry}");
        // The owner, who blocked no one, still sees both.
        let list = app
            .get("/api/v1/conversations", &owner.token)
            .await
            .expect(200);
        let entry = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == room)
            .unwrap()
            .clone();
        assert_eq!(entry["last_message"]["id"], from_carol);
    }
);

// Issue 13: room roles (routes/social.rs) and server roles (routes/servers.rs) followed different
// rules — a server's admins could not promote a member as a group's admins could. One rule now
// (chat::roles), the same answers in both.
both_backends!(rooms_and_servers_follow_one_role_rule, |app| {
    let owner = app.register("owner").await;
    let admin = app.register("admin").await;
    let second = app.register("second").await;
    let member = app.register("member").await;
    let room = app.group(&owner, false).await;
    let server = app
        .post(
            "/api/v1/servers",
            &owner.token,
            json!({"name": "Guild", "visibility": "public"}),
        )
        .await
        .expect(201)["id"]
        .as_i64()
        .unwrap();
    for who in [&admin, &second, &member] {
        app.post(
            &format!("/api/v1/conversations/{room}/members"),
            &owner.token,
            json!({"user_id": who.id}),
        )
        .await
        .expect(204);
        app.post(
            &format!("/api/v1/servers/{server}/join"),
            &who.token,
            json!({}),
        )
        .await
        .expect(204);
    }
    for base in [
        format!("/api/v1/conversations/{room}/members"),
        format!("/api/v1/servers/{server}/members"),
    ] {
        let role = |who: &Session, role: &str| {
            let (path, body) = (format!("{base}/{}", who.id), json!({"role": role}));
            (path, body)
        };
        let (path, body) = role(&admin, "admin");
        app.patch(&path, &owner.token, body).await.expect(204);
        // An admin promotes a member…
        let (path, body) = role(&second, "admin");
        app.patch(&path, &admin.token, body).await.expect(204);
        // …but never touches another admin, the owner, or hands out ownership.
        let (path, body) = role(&second, "member");
        app.patch(&path, &admin.token, body).await.expect(403);
        let (path, body) = role(&member, "owner");
        app.patch(&path, &admin.token, body).await.expect(403);
        app.delete(&format!("{base}/{}", owner.id), &admin.token)
            .await
            .expect(403);
        // Members manage no one.
        let (path, body) = role(&member, "admin");
        app.patch(&path, &member.token, body).await.expect(403);
        app.delete(&format!("{base}/{}", second.id), &member.token)
            .await
            .expect(403);
        // Admins remove members; the owner removes admins.
        app.delete(&format!("{base}/{}", member.id), &admin.token)
            .await
            .expect(204);
        app.delete(&format!("{base}/{}", second.id), &owner.token)
            .await
            .expect(204);
    }
});
