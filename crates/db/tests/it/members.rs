use db::members;
use db::DbError;
use domain::{ConversationId, ConversationKind, ErrorCode, MemberRole, MessageId, UserId};

use crate::support::{conversation, say, user};

both_backends!(add_leave_and_rejoin, |c| {
    let alice = user(c, "alice")?;
    let bob = user(c, "bob")?;
    let conv = conversation(c, ConversationKind::Group, alice.id)?;

    let m = members::add(c, conv.id, bob.id, MemberRole::Member)?;
    assert_eq!(
        (m.conversation_id, m.user_id, m.role),
        (conv.id, bob.id, MemberRole::Member)
    );
    assert!(m.is_active());
    assert!(members::is_member(c, conv.id, bob.id)?);
    assert_eq!(members::count_active(c, conv.id)?, 2);
    // Adding an active member again changes nothing (an owner is never demoted by a re-add).
    let owner = members::add(c, conv.id, alice.id, MemberRole::Member)?;
    assert_eq!(owner.role, MemberRole::Owner);

    let msg = say(c, conv.id, alice.id, "hi")?;
    assert!(members::mark_read(c, conv.id, bob.id, msg.id)?);
    assert!(members::leave(c, conv.id, bob.id)?);
    assert!(!members::leave(c, conv.id, bob.id)?, "leaving twice");
    assert!(!members::is_member(c, conv.id, bob.id)?);
    assert_eq!(members::count_active(c, conv.id)?, 1);
    let gone = members::find(c, conv.id, bob.id)?.unwrap();
    assert!(gone.left_at.is_some());
    assert!(matches!(
        members::set_role(c, conv.id, bob.id, MemberRole::Admin),
        Err(DbError::NotFound)
    ));

    let back = members::add(c, conv.id, bob.id, MemberRole::Admin)?;
    assert!(back.is_active());
    assert_eq!(back.role, MemberRole::Admin);
    assert_eq!(
        back.last_read_message_id,
        Some(msg.id),
        "a re-join keeps the read marker"
    );
    assert!(back.joined_at >= m.joined_at);
    assert!(members::is_member(c, conv.id, bob.id)?);

    assert!(members::remove(c, conv.id, bob.id)?);
    assert!(!members::is_member(c, conv.id, bob.id)?);
    assert_eq!(members::find(c, conv.id, UserId(bob.id.0 + 50))?, None);
});

both_backends!(roles_read_markers_and_lists, |c| {
    let alice = user(c, "alice")?;
    let bob = user(c, "bob")?;
    let carol = user(c, "carol")?;
    let conv = conversation(c, ConversationKind::Group, alice.id)?;
    members::add(c, conv.id, bob.id, MemberRole::Member)?;
    members::add(c, conv.id, carol.id, MemberRole::Member)?;
    members::leave(c, conv.id, carol.id)?;

    assert_eq!(
        members::set_role(c, conv.id, bob.id, MemberRole::Admin)?.role,
        MemberRole::Admin
    );
    let listed: Vec<(UserId, MemberRole)> = members::list(c, conv.id)?
        .into_iter()
        .map(|m| (m.user_id, m.role))
        .collect();
    assert_eq!(
        listed,
        [(alice.id, MemberRole::Owner), (bob.id, MemberRole::Admin)]
    );
    let named: Vec<String> = members::list_with_users(c, conv.id)?
        .into_iter()
        .map(|m| m.username)
        .collect();
    assert_eq!(named, ["alice", "bob"]);
    assert_eq!(members::active_user_ids(c, conv.id)?, [alice.id, bob.id]);

    let m1 = say(c, conv.id, alice.id, "1")?;
    let m2 = say(c, conv.id, alice.id, "2")?;
    assert!(members::mark_read(c, conv.id, bob.id, m2.id)?);
    assert!(
        !members::mark_read(c, conv.id, bob.id, m1.id)?,
        "never moves back"
    );
    assert_eq!(
        members::find(c, conv.id, bob.id)?
            .unwrap()
            .last_read_message_id,
        Some(m2.id)
    );
    assert!(!members::mark_read(
        c,
        conv.id,
        UserId(999_999),
        MessageId(1)
    )?);

    let err = members::add(
        c,
        ConversationId(conv.id.0 + 100),
        bob.id,
        MemberRole::Member,
    )
    .unwrap_err();
    assert!(matches!(err, DbError::ForeignKey), "{err:?}");
    assert_eq!(err.code(), ErrorCode::Validation);
});
