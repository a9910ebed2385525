//! @mentions of people (issue 19): members resolve to ids on the message; non-members, oneself
//! and people across a block are dropped silently; `@everyone` counts only from owners and
//! admins; more than 20 people is a flood (422) and stores nothing.

use serde_json::{json, Value};

use crate::helpers::{Session, TestApp};
use testkit::both_backends;

async fn room(app: &TestApp, owner: &Session, members: &[&Session]) -> i64 {
    let room = app
        .post(
            "/api/v1/conversations",
            &owner.token,
            json!({"kind": "group", "title": "Room", "member_limit": 100}),
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

async fn send(app: &TestApp, who: &Session, conv: i64, text: &str) -> Value {
    app.post(
        &format!("/api/v1/conversations/{conv}/messages"),
        &who.token,
        json!({"content": text}),
    )
    .await
    .expect(201)["message"]
        .clone()
}

both_backends!(
    mentions_resolve_to_members_and_drop_the_rest_silently,
    |app| {
        let owner = app.register("owner").await;
        let alice = app.register("alice").await;
        let bob = app.register("bob").await;
        let carol = app.register("carol").await;
        // Registered but not in the room: their mention is dropped.
        app.register("outsider").await;
        let r = room(&app, &owner, &[&alice, &bob, &carol]).await;

        let text =
            "@Bob @carol, 회의 시작해요 @outsider @alice @nobody_here me@example.com @everyone";
        let m = send(&app, &alice, r, text).await;
        let mut expected = vec![bob.id, carol.id];
        expected.sort_unstable();
        assert_eq!(m["mentions"], json!(expected));
        assert_eq!(
            m["mention_everyone"], false,
            "members cannot address everyone"
        );
        assert_eq!(m["content"], text, "the text is kept as written");

        let by_owner = send(&app, &owner, r, "@here 공지입니다").await;
        assert_eq!(by_owner["mention_everyone"], true);
        assert_eq!(by_owner["mentions"], json!([]));

        // Across a block (either way) the mention is dropped, the message still goes through.
        app.post("/api/v1/blocks", &bob.token, json!({"user_id": carol.id}))
            .await
            .expect(204);
        let m2 = send(&app, &carol, r, "@bob @alice look").await;
        assert_eq!(m2["mentions"], json!([alice.id]));
        let m3 = send(&app, &bob, r, "@carol @alice ok").await;
        assert_eq!(m3["mentions"], json!([alice.id]));

        // History shows the stored mentions to everyone.
        let page = app
            .get(&format!("/api/v1/conversations/{r}/messages"), &owner.token)
            .await
            .expect(200);
        let stored = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["id"] == m["id"])
            .unwrap()
            .clone();
        assert_eq!(stored["mentions"], json!(expected));
    }
);

both_backends!(more_than_twenty_people_in_one_message_is_a_flood, |app| {
    let owner = app.register("owner").await;
    let r = room(&app, &owner, &[]).await;
    // 21 members straight in the database (registering them all would meet the sign-up limit).
    let names: Vec<String> = (0..21).map(|i| format!("user{i:02}")).collect();
    let to_add = names.clone();
    db::run(&app.state.db, move |c| {
        for name in &to_add {
            let new = db::users::NewUserRow::new(name, &format!("{name}@example.com"), "x");
            let user = db::users::insert(c, new)?;
            db::members::add(
                c,
                domain::ConversationId(r),
                user.id,
                domain::MemberRole::Member,
            )?;
        }
        Ok(())
    })
    .await
    .unwrap();
    let twenty: String = names[..20].iter().map(|n| format!("@{n} ")).collect();
    let ok = send(&app, &owner, r, &twenty).await;
    assert_eq!(ok["mentions"].as_array().unwrap().len(), 20);

    let all = format!("{twenty} @{}", names[20]);
    let body = app
        .post(
            &format!("/api/v1/conversations/{r}/messages"),
            &owner.token,
            json!({"content": all}),
        )
        .await
        .expect(422);
    assert_eq!(body["errors"][0]["field"], "content");
    assert_eq!(body["errors"][0]["limit"], 20);
    let page = app
        .get(&format!("/api/v1/conversations/{r}/messages"), &owner.token)
        .await
        .expect(200);
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["content"] != all),
        "the flood was not stored"
    );
});
