use db::characters::{self, NewCharacterRow};
use db::conversations;
use db::members;
use db::messages::{self, AssistantReply, NewMessageRow, SearchScope};
use db::DbError;
use domain::{
    ConversationId, ConversationKind, MemberRole, MessageId, MessageRole, MessageStatus,
    MessageType,
};

use crate::support::{conversation, say, user};

fn ids(rows: &[messages::MessageRow]) -> Vec<MessageId> {
    rows.iter().map(|m| m.id).collect()
}

both_backends!(insert_find_and_views, |c| {
    let alice = user(c, "alice")?;
    let conv = conversation(c, ConversationKind::Group, alice.id)?;
    let first = say(c, conv.id, alice.id, "hello")?;
    let mut reply = NewMessageRow::user(conv.id, alice.id, "again");
    reply.reply_to_id = Some(first.id);
    reply.metadata = r#"{"attachments":[]}"#.into();
    let second = messages::insert(c, reply)?;
    assert_eq!(second.reply_to_id, Some(first.id));
    assert_eq!(second.role, MessageRole::User);
    assert_eq!(second.message_type, MessageType::Text);
    assert_eq!(second.status, MessageStatus::Complete);
    assert_eq!(second.metadata, r#"{"attachments":[]}"#);
    assert_eq!(messages::find(c, second.id)?, second);
    assert!(matches!(
        messages::find(c, MessageId(second.id.0 + 10)),
        Err(DbError::NotFound)
    ));

    let notice = messages::insert(c, NewMessageRow::system(conv.id, "alice joined"))?;
    assert_eq!(notice.author_id, None);
    assert_eq!(notice.role, MessageRole::System);

    let views = messages::views(c, &[first.clone(), notice.clone()])?;
    assert_eq!(views[0].author_username.as_deref(), Some("alice"));
    assert_eq!(views[0].created_at.naive_utc(), first.created_at);
    assert_eq!(views[1].author_username, None);
    assert_eq!(views[1].id, notice.id);

    let orphan = messages::insert(
        c,
        NewMessageRow::user(ConversationId(conv.id.0 + 9), alice.id, "x"),
    );
    assert!(matches!(orphan, Err(DbError::ForeignKey)), "{orphan:?}");
});

both_backends!(views_name_the_character_of_an_assistant_message, |c| {
    let alice = user(c, "alice")?;
    let conv = conversation(c, ConversationKind::Group, alice.id)?;
    // Private to alice: other members cannot read the card, but they see who spoke.
    let mut card = NewCharacterRow::new(alice.id, "Seraphina");
    card.avatar_url = Some("https://example.com/s.png".into());
    let ch = characters::insert(c, card)?;
    let reply = messages::insert(
        c,
        NewMessageRow {
            author_id: None,
            character_id: Some(ch.id),
            role: MessageRole::Assistant,
            ..NewMessageRow::user(conv.id, alice.id, "Greetings")
        },
    )?;
    let mine = say(c, conv.id, alice.id, "hello")?;
    let views = messages::views(c, &[reply, mine])?;
    assert_eq!(views[0].character_name.as_deref(), Some("Seraphina"));
    assert_eq!(
        views[0].character_avatar_url.as_deref(),
        Some("https://example.com/s.png")
    );
    assert_eq!(views[1].character_name, None);
    assert_eq!(views[1].character_avatar_url, None);
});

both_backends!(idempotent_send_returns_the_stored_message, |c| {
    let alice = user(c, "alice")?;
    let bob = user(c, "bob")?;
    let conv = conversation(c, ConversationKind::Group, alice.id)?;
    let mut new = NewMessageRow::user(conv.id, alice.id, "hello");
    new.client_id = Some("c-1".into());

    let first = messages::insert_idempotent(c, new.clone())?;
    assert!(first.created);
    let mut retry = new.clone();
    retry.content = "hello (retry)".into();
    let again = messages::insert_idempotent(c, retry)?;
    assert!(!again.created);
    assert_eq!(again.message, first.message, "the original row, unchanged");

    // The key is (conversation, author, client id).
    let mut other_author = new.clone();
    other_author.author_id = Some(bob.id);
    assert!(messages::insert_idempotent(c, other_author)?.created);
    let mut other_id = new.clone();
    other_id.client_id = Some("c-2".into());
    assert!(messages::insert_idempotent(c, other_id)?.created);
    let mut no_id = new.clone();
    no_id.client_id = None;
    let a = messages::insert_idempotent(c, no_id.clone())?;
    let b = messages::insert_idempotent(c, no_id)?;
    assert!(a.created && b.created && a.message.id != b.message.id);

    // A plain insert with a used client id is a conflict naming the key.
    let err = messages::insert(c, new).unwrap_err();
    assert!(err.is_conflict_on("client_id"), "{err:?}");
    assert_eq!(
        messages::list_page(c, conv.id, None, None, 100, None)?.len(),
        5
    );
});

both_backends!(list_page_cursors, |c| {
    let alice = user(c, "alice")?;
    let conv = conversation(c, ConversationKind::Group, alice.id)?;
    let other = conversation(c, ConversationKind::Group, alice.id)?;
    let mut all = Vec::new();
    for i in 0..10 {
        all.push(say(c, conv.id, alice.id, &format!("m{i}"))?.id);
        say(c, other.id, alice.id, "noise")?;
    }
    let page = |c: &mut db::DbConn, before: Option<usize>, after: Option<usize>, limit| {
        messages::list_page(
            c,
            conv.id,
            before.map(|i| all[i]),
            after.map(|i| all[i]),
            limit,
            None,
        )
        .map(|rows| ids(&rows))
    };
    assert_eq!(page(c, None, None, 3)?, all[7..10], "latest, ascending");
    assert_eq!(
        page(c, Some(7), None, 3)?,
        all[4..7],
        "older page before the cursor"
    );
    assert_eq!(page(c, Some(2), None, 5)?, all[0..2]);
    assert_eq!(
        page(c, None, Some(2), 2)?,
        all[3..5],
        "newer page after the cursor"
    );
    assert_eq!(page(c, None, Some(8), 5)?, all[9..10]);
    assert_eq!(page(c, Some(6), Some(1), 10)?, all[2..6], "a window");
    assert_eq!(page(c, Some(6), Some(1), 2)?, all[2..4]);
    assert!(page(c, None, Some(9), 5)?.is_empty());
    assert_eq!(page(c, None, None, 100)?, all);
});

both_backends!(edit_and_soft_delete, |c| {
    let alice = user(c, "alice")?;
    let bob = user(c, "bob")?;
    let conv = conversation(c, ConversationKind::Group, alice.id)?;
    let mut new = NewMessageRow::user(conv.id, alice.id, "helo");
    new.metadata = r#"{"file":"x"}"#.into();
    let m = messages::insert(c, new)?;

    let edited = messages::edit(c, m.id, "hello", bob.id)?;
    assert_eq!(edited.content, "hello");
    assert_eq!(edited.edited_by, Some(bob.id));
    assert!(edited.edited_at.is_some());
    assert_eq!(edited.created_at, m.created_at);

    let deleted = messages::soft_delete(c, m.id)?;
    assert!(deleted.is_deleted());
    assert_eq!(deleted.content, "");
    assert_eq!(deleted.metadata, "{}");
    assert_eq!(
        messages::soft_delete(c, m.id)?,
        deleted,
        "deleting twice keeps the tombstone"
    );
    assert!(matches!(
        messages::edit(c, m.id, "x", alice.id),
        Err(DbError::NotFound)
    ));
    assert!(matches!(
        messages::soft_delete(c, MessageId(m.id.0 + 10)),
        Err(DbError::NotFound)
    ));
    // The tombstone keeps its place in history pages.
    assert_eq!(
        ids(&messages::list_page(c, conv.id, None, None, 10, None)?),
        [m.id]
    );
});

both_backends!(assistant_reply_is_idempotent_on_job_id, |c| {
    let alice = user(c, "alice")?;
    let ch = characters::insert(c, NewCharacterRow::new(alice.id, "Sera"))?;
    let conv = conversation(c, ConversationKind::AiChat, alice.id)?;
    let prompt = say(c, conv.id, alice.id, "hi")?;
    let reply = |content: &str, status| AssistantReply {
        conversation_id: conv.id,
        character_id: Some(ch.id),
        job_id: "job-1".into(),
        reply_to_id: Some(prompt.id),
        content: content.into(),
        status,
        model: Some("mock/echo".into()),
        prompt_tokens: None,
        completion_tokens: None,
    };

    let placeholder = messages::upsert_assistant_reply(c, reply("", MessageStatus::Streaming))?;
    assert_eq!(placeholder.role, MessageRole::Assistant);
    assert_eq!(placeholder.status, MessageStatus::Streaming);
    assert_eq!(placeholder.author_id, None);
    assert_eq!(placeholder.character_id, Some(ch.id));
    assert_eq!(placeholder.reply_to_id, Some(prompt.id));
    assert_eq!(
        conversations::find(c, conv.id)?.last_message_at,
        Some(placeholder.created_at)
    );

    let partial = messages::upsert_assistant_reply(c, reply("Hel", MessageStatus::Streaming))?;
    assert_eq!(partial.id, placeholder.id);
    assert_eq!(partial.content, "Hel");
    let mut done = reply("Hello!", MessageStatus::Complete);
    done.prompt_tokens = Some(12);
    done.completion_tokens = Some(3);
    let complete = messages::upsert_assistant_reply(c, done.clone())?;
    let twice = messages::upsert_assistant_reply(c, done)?;
    assert_eq!(complete.id, placeholder.id);
    assert_eq!(twice, complete, "completing twice changes nothing");
    assert_eq!(
        (complete.prompt_tokens, complete.completion_tokens),
        (Some(12), Some(3))
    );
    assert_eq!(complete.created_at, placeholder.created_at);
    assert_eq!(
        messages::list_page(c, conv.id, None, None, 10, None)?.len(),
        2,
        "one reply row"
    );
    assert_eq!(
        messages::find_by_job_id(c, "job-1")?,
        Some(complete.clone())
    );
    assert_eq!(messages::find_by_job_id(c, "job-2")?, None);
    assert_eq!(
        messages::last_assistant_message(c, conv.id)?,
        Some(complete.clone())
    );

    let cancelled = messages::set_status(c, complete.id, MessageStatus::Cancelled)?;
    assert_eq!(cancelled.status, MessageStatus::Cancelled);
    assert!(matches!(
        messages::set_status(c, MessageId(complete.id.0 + 10), MessageStatus::Failed),
        Err(DbError::NotFound)
    ));

    let mut dup = NewMessageRow::user(conv.id, alice.id, "x");
    dup.job_id = Some("job-1".into());
    let err = messages::insert(c, dup).unwrap_err();
    assert!(err.is_conflict_on("job_id"), "{err:?}");

    messages::soft_delete(c, complete.id)?;
    assert_eq!(messages::last_assistant_message(c, conv.id)?, None);
});

both_backends!(history_is_what_a_model_should_see, |c| {
    let alice = user(c, "alice")?;
    let conv = conversation(c, ConversationKind::AiChat, alice.id)?;
    let m1 = say(c, conv.id, alice.id, "one")?;
    let m2 = say(c, conv.id, alice.id, "two")?;
    let gone = say(c, conv.id, alice.id, "oops")?;
    messages::soft_delete(c, gone.id)?;
    let base = AssistantReply {
        conversation_id: conv.id,
        character_id: None,
        job_id: String::new(),
        reply_to_id: None,
        content: "r".into(),
        status: MessageStatus::Complete,
        model: None,
        prompt_tokens: None,
        completion_tokens: None,
    };
    let ok = messages::upsert_assistant_reply(
        c,
        AssistantReply {
            job_id: "j1".into(),
            ..base.clone()
        },
    )?;
    messages::upsert_assistant_reply(
        c,
        AssistantReply {
            job_id: "j2".into(),
            status: MessageStatus::Failed,
            ..base.clone()
        },
    )?;
    let cancelled = messages::upsert_assistant_reply(
        c,
        AssistantReply {
            job_id: "j3".into(),
            status: MessageStatus::Cancelled,
            ..base.clone()
        },
    )?;
    messages::upsert_assistant_reply(
        c,
        AssistantReply {
            job_id: "j4".into(),
            status: MessageStatus::Streaming,
            ..base
        },
    )?;
    let m3 = say(c, conv.id, alice.id, "three")?;

    assert_eq!(
        ids(&messages::history(c, conv.id, 10)?),
        [m1.id, m2.id, ok.id, cancelled.id, m3.id]
    );
    assert_eq!(
        ids(&messages::history(c, conv.id, 2)?),
        [cancelled.id, m3.id],
        "the last N, oldest first"
    );
});

both_backends!(search_in_a_conversation_or_everywhere_i_am, |c| {
    let alice = user(c, "alice")?;
    let bob = user(c, "bob")?;
    let mine = conversation(c, ConversationKind::Group, alice.id)?;
    let shared = conversation(c, ConversationKind::Group, bob.id)?;
    let left = conversation(c, ConversationKind::Group, bob.id)?;
    let foreign = conversation(c, ConversationKind::Group, bob.id)?;
    members::add(c, shared.id, alice.id, MemberRole::Member)?;
    members::add(c, left.id, alice.id, MemberRole::Member)?;
    members::leave(c, left.id, alice.id)?;

    let a = say(c, mine.id, alice.id, "Pizza tonight?")?;
    let b = say(c, shared.id, bob.id, "I love PIZZA")?;
    say(c, left.id, bob.id, "pizza in a room alice left")?;
    say(c, foreign.id, bob.id, "pizza elsewhere")?;
    let d = say(c, mine.id, alice.id, "deleted pizza")?;
    messages::soft_delete(c, d.id)?;
    let pct = say(c, mine.id, alice.id, "100% sure")?;

    let found = messages::search(c, SearchScope::MemberOf(alice.id), alice.id, "pizza", 10, 0)?;
    assert_eq!(
        ids(&found),
        [b.id, a.id],
        "newest first, only live messages in my conversations"
    );
    assert_eq!(
        ids(&messages::search(
            c,
            SearchScope::Conversation(mine.id),
            alice.id,
            "PIZZA",
            10,
            0
        )?),
        [a.id]
    );
    assert_eq!(
        ids(&messages::search(
            c,
            SearchScope::MemberOf(alice.id),
            alice.id,
            "pizza",
            1,
            1
        )?),
        [a.id]
    );
    assert_eq!(
        ids(&messages::search(
            c,
            SearchScope::MemberOf(alice.id),
            alice.id,
            "0%",
            10,
            0
        )?),
        [pct.id]
    );
    assert!(
        messages::search(c, SearchScope::MemberOf(alice.id), alice.id, "%%", 10, 0)?.is_empty()
    );
    assert_eq!(
        messages::search(c, SearchScope::MemberOf(bob.id), bob.id, "pizza", 10, 0)?.len(),
        3
    );
});

// Issue 15: a conversation that existed before messages formed a tree becomes one path when the
// tree migration runs — each message follows the one before it in its own conversation.
both_backends!(
    the_tree_migration_turns_an_existing_history_into_one_path,
    |c| {
        use diesel::RunQueryDsl;
        let alice = user(c, "alice")?;
        let conv = conversation(c, ConversationKind::Group, alice.id)?;
        let other = conversation(c, ConversationKind::Group, alice.id)?;
        let one = say(c, conv.id, alice.id, "one")?;
        let two = say(c, conv.id, alice.id, "two")?;
        let elsewhere = say(c, other.id, alice.id, "elsewhere")?;
        let three = say(c, conv.id, alice.id, "three")?;

        // Back to before the migration: its columns gone, the migration not yet applied.
        let down = match c {
            db::DbConn::Postgres(_) => include_str!(
                "../../migrations/postgres/2026-12-03-000400_conversation_tree/down.sql"
            ),
            db::DbConn::Sqlite(_) => {
                include_str!("../../migrations/sqlite/2026-12-03-000400_conversation_tree/down.sql")
            }
        };
        for statement in down.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            diesel::sql_query(statement).execute(c)?;
        }
        diesel::sql_query(
            "DELETE FROM __diesel_schema_migrations WHERE version = '20261203000400'",
        )
        .execute(c)?;
        assert_eq!(db::run_migrations(c)?, 1);

        let parent =
            |c: &mut db::DbConn, id| messages::find(c, id).map(|m| (m.parent_id, m.on_path));
        assert_eq!(parent(c, one.id)?, (None, true));
        assert_eq!(parent(c, two.id)?, (Some(one.id), true));
        assert_eq!(
            parent(c, three.id)?,
            (Some(two.id), true),
            "follows its own conversation"
        );
        assert_eq!(parent(c, elsewhere.id)?, (None, true));
        assert_eq!(
            ids(&messages::history(c, conv.id, 50)?),
            vec![one.id, two.id, three.id]
        );
    }
);
