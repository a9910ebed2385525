//! A user's chat records: conversations and messages, paged; other people's are 404.

use db::conversations::NewConversationRow;
use db::messages::NewMessageRow;
use domain::{ConversationId, ConversationKind, MemberRole, UserId};

use testkit::both_backends;

async fn chat(app: &crate::helpers::TestApp, owner: UserId, messages: usize) -> ConversationId {
    db::run(&app.db, move |c| {
        let conv = db::conversations::insert_with_members(
            c,
            NewConversationRow::new(ConversationKind::Group, Some(owner)),
            &[(owner, MemberRole::Owner)],
        )?;
        for i in 0..messages {
            db::messages::insert(
                c,
                NewMessageRow::user(conv.id, owner, &format!("message {i}")),
            )?;
        }
        Ok(conv.id)
    })
    .await
    .unwrap()
}

both_backends!(a_users_conversations_and_messages, |app| {
    let root = app.admin("root").await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let first = chat(&app, alice.id, 5).await;
    let second = chat(&app, alice.id, 1).await;
    let bobs = chat(&app, bob.id, 2).await;

    let base = format!("/api/v1/admin/users/{}", alice.id);
    let page = app
        .get(&format!("{base}/conversations?limit=1"), &root.token)
        .await
        .expect(200);
    assert_eq!(page["total"], 2);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        page["items"][0]["id"], second.0,
        "most recently active first"
    );
    assert_eq!(page["items"][0]["role"], "owner");
    assert_eq!(page["items"][0]["last_message"]["content"], "message 0");
    let page = app
        .get(
            &format!("{base}/conversations?limit=1&offset=1"),
            &root.token,
        )
        .await
        .expect(200);
    assert_eq!(page["items"][0]["id"], first.0);

    let messages = app
        .get(
            &format!("{base}/conversations/{}/messages?limit=3", first.0),
            &root.token,
        )
        .await
        .expect(200);
    let texts: Vec<&str> = messages["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["message 2", "message 3", "message 4"],
        "the latest page"
    );
    assert_eq!(messages["items"][0]["author_username"], "alice");
    let older = app
        .get(
            &format!(
                "{base}/conversations/{}/messages?before={}",
                first.0, messages["oldest_id"]
            ),
            &root.token,
        )
        .await
        .expect(200);
    assert_eq!(older["items"].as_array().unwrap().len(), 2);

    // Bob's conversation is not one of Alice's.
    app.get(
        &format!("{base}/conversations/{}/messages", bobs.0),
        &root.token,
    )
    .await
    .expect(404);
    app.get(
        &format!("{base}/conversations/999999/messages"),
        &root.token,
    )
    .await
    .expect(404);
    app.get("/api/v1/admin/users/999999/conversations", &root.token)
        .await
        .expect(404);
    for bad in ["limit=0", "limit=500", "offset=-3", "page=2"] {
        app.get(&format!("{base}/conversations?{bad}"), &root.token)
            .await
            .expect(422);
    }
    for bad in ["limit=0", "before=x", "cursor=1"] {
        app.get(
            &format!("{base}/conversations/{}/messages?{bad}", first.0),
            &root.token,
        )
        .await
        .expect(422);
    }
});
