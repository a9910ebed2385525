//! Pins (issue 19): owners and admins of a room pin; members read the list and get 403 when
//! they try; strangers get 404; deleted messages and a full list are refused.

use domain::events::ConversationEvent;
use serde_json::json;

use testkit::both_backends;

both_backends!(
    owners_and_admins_pin_members_read_strangers_see_nothing,
    |app| {
        let owner = app.register("owner").await;
        let admin = app.register("admin").await;
        let member = app.register("member").await;
        let stranger = app.register("stranger").await;
        let room = app
            .post(
                "/api/v1/conversations",
                &owner.token,
                json!({"kind": "group", "title": "방"}),
            )
            .await
            .expect(201)["id"]
            .as_i64()
            .unwrap();
        let members = format!("/api/v1/conversations/{room}/members");
        for who in [&admin, &member] {
            app.post(&members, &owner.token, json!({"user_id": who.id}))
                .await
                .expect(204);
        }
        app.patch(
            &format!("{members}/{}", admin.id),
            &owner.token,
            json!({"role": "admin"}),
        )
        .await
        .expect(204);
        let say = |who: &crate::helpers::Session, text: &'static str| {
            let (app, token) = (&app, who.token.clone());
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
        let first = say(&member, "회의는 3시").await;
        let second = say(&member, "자료는 여기").await;
        let pins = format!("/api/v1/conversations/{room}/pins");

        app.put(&format!("{pins}/{first}"), &owner.token, json!({}))
            .await
            .expect(204);
        app.put(&format!("{pins}/{second}"), &admin.token, json!({}))
            .await
            .expect(204);
        // Pinning twice changes nothing.
        app.put(&format!("{pins}/{second}"), &admin.token, json!({}))
            .await
            .expect(204);
        app.put(&format!("{pins}/{first}"), &member.token, json!({}))
            .await
            .expect(403);
        app.delete(&format!("{pins}/{first}"), &member.token)
            .await
            .expect(403);
        app.put(&format!("{pins}/{first}"), &stranger.token, json!({}))
            .await
            .expect(404);
        app.get(&pins, &stranger.token).await.expect(404);
        app.put(&format!("{pins}/999999"), &owner.token, json!({}))
            .await
            .expect(404);

        let list = app.get(&pins, &member.token).await.expect(200);
        let ids: Vec<i64> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["message"]["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, vec![second, first], "newest pin first");
        assert_eq!(list[0]["pinned_by"], admin.id);
        assert_eq!(list[1]["message"]["content"], "회의는 3시");
        assert_eq!(list[1]["message"]["pinned"], true);
        let page = app
            .get(
                &format!("/api/v1/conversations/{room}/messages"),
                &member.token,
            )
            .await
            .expect(200);
        let pinned: Vec<bool> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["id"] == first || m["id"] == second)
            .map(|m| m["pinned"].as_bool().unwrap())
            .collect();
        assert_eq!(pinned, vec![true, true], "message views say pinned");

        app.delete(&format!("{pins}/{first}"), &owner.token)
            .await
            .expect(204);
        app.delete(&format!("{pins}/{first}"), &owner.token)
            .await
            .expect(204);
        let list = app.get(&pins, &member.token).await.expect(200);
        assert_eq!(list.as_array().unwrap().len(), 1);

        app.delete(
            &format!("/api/v1/conversations/{room}/messages/{first}"),
            &owner.token,
        )
        .await
        .expect(204);
        app.put(&format!("{pins}/{first}"), &owner.token, json!({}))
            .await
            .expect(409);

        let events: Vec<String> = app
            .events(room)
            .await
            .into_iter()
            .filter_map(|e| match e.event {
                ConversationEvent::MessagePinned {
                    message_id,
                    pinned_by,
                    ..
                } => Some(format!("pinned {} by {}", message_id.0, pinned_by.0)),
                ConversationEvent::MessageUnpinned { message_id, .. } => {
                    Some(format!("unpinned {}", message_id.0))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            events,
            vec![
                format!("pinned {first} by {}", owner.id),
                format!("pinned {second} by {}", admin.id),
                format!("unpinned {first}"),
            ]
        );
    }
);

both_backends!(
    a_conversation_keeps_at_most_fifty_pins_and_dm_members_pin,
    |app| {
        let alice = app.register("alice").await;
        let bob = app.register("bob").await;
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
        let mut ids = Vec::new();
        for i in 0..51 {
            let id = db::run(&app.state.db, move |c| {
                db::messages::insert(
                    c,
                    db::messages::NewMessageRow::user(
                        domain::ConversationId(dm),
                        domain::UserId(alice.id),
                        &format!("note {i}"),
                    ),
                )
            })
            .await
            .unwrap()
            .id
            .0;
            ids.push(id);
        }
        let pins = format!("/api/v1/conversations/{dm}/pins");
        for id in &ids[..50] {
            app.put(&format!("{pins}/{id}"), &bob.token, json!({}))
                .await
                .expect(204);
        }
        app.put(&format!("{pins}/{}", ids[50]), &alice.token, json!({}))
            .await
            .expect(409);
        assert_eq!(
            app.get(&pins, &alice.token)
                .await
                .expect(200)
                .as_array()
                .unwrap()
                .len(),
            50
        );
    }
);
