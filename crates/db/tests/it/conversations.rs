use db::characters::{self, NewCharacterRow};
use db::conversations::{self, ConversationChanges, ListSection, NewConversationRow};
use db::members::{self, ListChange};
use db::messages;
use db::servers::{self, NewServerRow};
use db::DbError;
use domain::{ConversationId, ConversationKind, MemberRole, Visibility};

use crate::support::{conversation, say, user};

both_backends!(insert_find_update_delete_cascades, |c| {
    let alice = user(c, "alice")?;
    let ch = characters::insert(c, NewCharacterRow::new(alice.id, "Sera"))?;
    let mut new = NewConversationRow::new(ConversationKind::AiChat, Some(alice.id));
    new.character_id = Some(ch.id);
    new.title = "Chat".into();
    let conv = conversations::insert_with_members(c, new, &[(alice.id, MemberRole::Owner)])?;
    assert_eq!(conv.kind, ConversationKind::AiChat);
    assert_eq!(conv.character_id, Some(ch.id));
    assert_eq!(conv.owner_id, Some(alice.id));
    assert_eq!(conv.last_message_at, None);
    assert_eq!(conversations::find(c, conv.id)?, conv);
    assert!(members::is_member(c, conv.id, alice.id)?);

    let updated = conversations::update(
        c,
        conv.id,
        &ConversationChanges {
            title: Some("Renamed".into()),
            description: Some("about".into()),
            visibility: Some(Visibility::Public),
            member_limit: Some(10),
            position: None,
        },
    )?;
    assert_eq!(updated.title, "Renamed");
    assert_eq!(updated.description, "about");
    assert_eq!(updated.visibility, Visibility::Public);
    assert_eq!(updated.member_limit, 10);

    // Deleting the character keeps the conversation.
    characters::delete(c, ch.id)?;
    assert_eq!(conversations::find(c, conv.id)?.character_id, None);

    let m = say(c, conv.id, alice.id, "hello")?;
    conversations::delete(c, conv.id)?;
    assert!(matches!(
        conversations::find(c, conv.id),
        Err(DbError::NotFound)
    ));
    assert!(matches!(messages::find(c, m.id), Err(DbError::NotFound)));
    assert_eq!(members::find(c, conv.id, alice.id)?, None);
    assert!(matches!(
        conversations::delete(c, conv.id),
        Err(DbError::NotFound)
    ));
    assert!(matches!(
        conversations::update(c, conv.id, &ConversationChanges::default()),
        Err(DbError::NotFound)
    ));
});

both_backends!(one_direct_conversation_per_pair, |c| {
    let alice = user(c, "alice")?;
    let bob = user(c, "bob")?;
    let key = conversations::direct_key(bob.id, alice.id);
    assert_eq!(key, conversations::direct_key(alice.id, bob.id));
    assert_eq!(key, format!("{}:{}", alice.id, bob.id));
    assert_eq!(conversations::find_direct(c, &key)?, None);

    let (dm, created) = conversations::get_or_create_direct(c, alice.id, bob.id)?;
    assert!(created);
    assert_eq!(dm.kind, ConversationKind::Direct);
    assert_eq!(dm.direct_key.as_deref(), Some(key.as_str()));
    let (again, created) = conversations::get_or_create_direct(c, bob.id, alice.id)?;
    assert!(!created);
    assert_eq!(again.id, dm.id);
    assert_eq!(
        conversations::find_direct(c, &key)?.map(|d| d.id),
        Some(dm.id)
    );
    assert_eq!(members::active_user_ids(c, dm.id)?.len(), 2);

    let mut dup = NewConversationRow::new(ConversationKind::Direct, None);
    dup.direct_key = Some(key.clone());
    let err = conversations::insert(c, dup).unwrap_err();
    assert!(err.is_conflict_on("direct_key"), "{err:?}");
});

both_backends!(list_for_user_orders_previews_and_counts_unread, |c| {
    let alice = user(c, "alice")?;
    let bob = user(c, "bob")?;
    let quiet = conversation(c, ConversationKind::Group, alice.id)?;
    let first = conversation(c, ConversationKind::Group, alice.id)?;
    let second = conversation(c, ConversationKind::Group, alice.id)?;
    let left = conversation(c, ConversationKind::Group, bob.id)?;
    members::add(c, first.id, bob.id, MemberRole::Member)?;
    members::add(c, left.id, alice.id, MemberRole::Member)?;
    members::leave(c, left.id, alice.id)?;

    let f1 = say(c, first.id, bob.id, "one")?;
    say(c, second.id, alice.id, "mine")?;
    let f2 = say(c, first.id, bob.id, "two")?;
    let f3 = say(c, first.id, alice.id, "three")?;
    say(c, left.id, bob.id, "gone")?;
    messages::soft_delete(c, f3.id)?;

    let list = conversations::list_for_user(c, alice.id, ListSection::Main, 10, 0)?;
    let ids: Vec<ConversationId> = list.iter().map(|s| s.conversation.id).collect();
    // Most recent activity first; a conversation without messages ranks by creation.
    assert_eq!(ids, [first.id, second.id, quiet.id]);
    let top = &list[0];
    assert_eq!(top.role, MemberRole::Owner);
    assert_eq!(
        top.last_message.as_ref().map(|m| m.id),
        Some(f2.id),
        "the preview skips deleted messages"
    );
    assert_eq!(
        top.unread_count, 2,
        "bob's two messages; alice's own do not count"
    );
    assert_eq!(list[1].unread_count, 0);
    assert_eq!(list[2].last_message, None);

    members::mark_read(c, first.id, alice.id, f1.id)?;
    let list = conversations::list_for_user(c, alice.id, ListSection::Main, 1, 0)?;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].unread_count, 1);
    let page2 = conversations::list_for_user(c, alice.id, ListSection::Main, 2, 1)?;
    assert_eq!(
        page2.iter().map(|s| s.conversation.id).collect::<Vec<_>>(),
        [second.id, quiet.id]
    );
    assert!(conversations::list_for_user(c, alice.id, ListSection::Main, 10, 3)?.is_empty());

    let bobs = conversations::list_for_user(c, bob.id, ListSection::Main, 10, 0)?;
    assert_eq!(
        bobs.iter()
            .map(|s| (s.conversation.id, s.unread_count))
            .collect::<Vec<_>>(),
        [(left.id, 0), (first.id, 0)],
        "bob's own messages are not unread; alice's was deleted"
    );
});

both_backends!(touch_last_message_at_only_moves_forward, |c| {
    let alice = user(c, "alice")?;
    let conv = conversation(c, ConversationKind::Group, alice.id)?;
    let later = db::now();
    let earlier = later - chrono::Duration::seconds(60);
    conversations::touch_last_message_at(c, conv.id, later)?;
    conversations::touch_last_message_at(c, conv.id, earlier)?;
    assert_eq!(
        conversations::find(c, conv.id)?.last_message_at,
        Some(later)
    );
    let m = say(c, conv.id, alice.id, "hi")?;
    assert_eq!(
        conversations::find(c, conv.id)?.last_message_at,
        Some(m.created_at),
        "sending a message bumps the conversation"
    );
});

both_backends!(channels_and_public_groups, |c| {
    let alice = user(c, "alice")?;
    let server = servers::insert(
        c,
        NewServerRow {
            owner_id: alice.id,
            name: "S".into(),
            description: String::new(),
            visibility: Visibility::Public,
            invite_code: "inv".into(),
            icon_url: None,
        },
    )?;
    let channel = |c: &mut db::DbConn, title: &str, position: i32| {
        let mut new = NewConversationRow::new(ConversationKind::Channel, Some(alice.id));
        new.server_id = Some(server.id);
        new.title = title.into();
        new.position = position;
        conversations::insert(c, new)
    };
    let general = channel(c, "general", 1)?;
    let rules = channel(c, "rules", 0)?;
    let random = channel(c, "random", 1)?;
    let titles: Vec<String> = conversations::list_channels(c, server.id)?
        .into_iter()
        .map(|ch| ch.title)
        .collect();
    assert_eq!(titles, ["rules", "general", "random"]);
    let _ = (general, rules, random);

    let mut public = NewConversationRow::new(ConversationKind::Group, Some(alice.id));
    public.visibility = Visibility::Public;
    let p1 = conversations::insert(c, public.clone())?;
    let p2 = conversations::insert(c, public)?;
    conversation(c, ConversationKind::Group, alice.id)?; // private
    say(c, p1.id, alice.id, "active")?;
    let ids: Vec<ConversationId> = conversations::list_public_groups(c, 10, 0)?
        .into_iter()
        .map(|g| g.id)
        .collect();
    assert_eq!(ids, [p1.id, p2.id]);
    assert_eq!(conversations::list_public_groups(c, 1, 1)?.len(), 1);

    // Deleting the server takes its channels with it.
    servers::delete(c, server.id)?;
    assert!(conversations::list_channels(c, server.id)?.is_empty());
});

both_backends!(characters_in_a_conversation, |c| {
    let alice = user(c, "alice")?;
    let conv = conversation(c, ConversationKind::Group, alice.id)?;
    let a = characters::insert(c, NewCharacterRow::new(alice.id, "A"))?;
    let b = characters::insert(c, NewCharacterRow::new(alice.id, "B"))?;
    assert!(conversations::add_character(c, conv.id, b.id)?);
    assert!(conversations::add_character(c, conv.id, a.id)?);
    assert!(
        !conversations::add_character(c, conv.id, a.id)?,
        "adding twice is a no-op"
    );
    assert_eq!(conversations::list_characters(c, conv.id)?, [b.id, a.id]);
    assert!(conversations::remove_character(c, conv.id, b.id)?);
    assert!(!conversations::remove_character(c, conv.id, b.id)?);
    characters::delete(c, a.id)?;
    assert!(conversations::list_characters(c, conv.id)?.is_empty());
    let err = conversations::add_character(c, conv.id, a.id);
    assert!(matches!(err, Err(DbError::ForeignKey)), "{err:?}");
});

both_backends!(
    pins_lead_the_list_and_archived_ones_leave_it_for_that_member_only,
    |c| {
        let alice = user(c, "alice")?;
        let bob = user(c, "bob")?;
        let a = conversation(c, ConversationKind::Group, alice.id)?;
        let b = conversation(c, ConversationKind::Group, alice.id)?;
        let d = conversation(c, ConversationKind::Group, alice.id)?;
        members::add(c, b.id, bob.id, MemberRole::Member)?;
        say(c, a.id, alice.id, "oldest")?;
        say(c, b.id, alice.id, "middle")?;
        say(c, d.id, alice.id, "newest")?;
        let ids = |c: &mut db::DbConn, who, section| -> Result<Vec<ConversationId>, DbError> {
            Ok(conversations::list_for_user(c, who, section, 10, 0)?
                .iter()
                .map(|s| s.conversation.id)
                .collect())
        };
        assert_eq!(ids(c, alice.id, ListSection::Main)?, [d.id, b.id, a.id]);

        // Pins first, in the order they were pinned; a repeated pin keeps its place.
        members::arrange(c, a.id, alice.id, ListChange::Pin)?;
        std::thread::sleep(std::time::Duration::from_millis(5));
        members::arrange(c, b.id, alice.id, ListChange::Pin)?;
        members::arrange(c, a.id, alice.id, ListChange::Pin)?;
        assert_eq!(ids(c, alice.id, ListSection::Main)?, [a.id, b.id, d.id]);
        assert_eq!(members::count_pinned(c, alice.id)?, 2);
        let list = conversations::list_for_user(c, alice.id, ListSection::Main, 10, 0)?;
        assert!(list[0].pinned_at.is_some() && list[2].pinned_at.is_none());

        // Archiving takes it out of the main list and unpins it; bob's list is untouched.
        let row = members::arrange(c, b.id, alice.id, ListChange::Archive)?;
        assert!(row.archived_at.is_some() && row.pinned_at.is_none());
        assert_eq!(ids(c, alice.id, ListSection::Main)?, [a.id, d.id]);
        assert_eq!(ids(c, alice.id, ListSection::Archived)?, [b.id]);
        assert_eq!(ids(c, alice.id, ListSection::All)?.len(), 3);
        assert_eq!(ids(c, bob.id, ListSection::Main)?, [b.id]);

        // Pinning an archived one brings it back; unarchiving keeps a pin.
        members::arrange(c, b.id, alice.id, ListChange::Archive)?;
        let row = members::arrange(c, b.id, alice.id, ListChange::Pin)?;
        assert!(row.archived_at.is_none() && row.pinned_at.is_some());
        let row = members::arrange(c, b.id, alice.id, ListChange::Unarchive)?;
        assert!(row.pinned_at.is_some());
        members::arrange(c, b.id, alice.id, ListChange::Unpin)?;
        members::arrange(c, a.id, alice.id, ListChange::Unpin)?;
        assert_eq!(ids(c, alice.id, ListSection::Main)?, [d.id, b.id, a.id]);

        // Not a member (or no longer one): nothing to arrange.
        let stranger = user(c, "carol")?;
        assert!(matches!(
            members::arrange(c, a.id, stranger.id, ListChange::Pin),
            Err(DbError::NotFound)
        ));
        members::leave(c, b.id, bob.id)?;
        assert!(matches!(
            members::arrange(c, b.id, bob.id, ListChange::Archive),
            Err(DbError::NotFound)
        ));
    }
);
