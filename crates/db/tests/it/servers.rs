use db::conversations::{self, NewConversationRow};
use db::messages;
use db::servers::{self, NewServerRow, ServerChanges};
use db::DbError;
use domain::{ConversationKind, MemberRole, ServerId, UserId, Visibility};

use crate::support::{say, user};

fn server(owner: UserId, name: &str, code: &str, visibility: Visibility) -> NewServerRow {
    NewServerRow {
        owner_id: owner,
        name: name.into(),
        description: String::new(),
        visibility,
        invite_code: code.into(),
        icon_url: None,
    }
}

both_backends!(insert_find_update_delete, |c| {
    let alice = user(c, "alice")?;
    let s = servers::insert(c, server(alice.id, "Guild", "abc", Visibility::Private))?;
    assert_eq!(servers::find(c, s.id)?, s);
    let owner = servers::find_member(c, s.id, alice.id)?.unwrap();
    assert_eq!(
        owner.role,
        MemberRole::Owner,
        "the creator is the owner member"
    );
    assert_eq!(servers::find_by_invite_code(c, "abc")?, Some(s.clone()));
    assert_eq!(servers::find_by_invite_code(c, "zzz")?, None);

    let err = servers::insert(c, server(alice.id, "Other", "abc", Visibility::Public)).unwrap_err();
    assert!(err.is_conflict_on("invite_code"), "{err:?}");
    assert_eq!(
        servers::list_for_user(c, alice.id)?.len(),
        1,
        "the failed insert left nothing"
    );

    let updated = servers::update(
        c,
        s.id,
        &ServerChanges {
            name: Some("Guild 2".into()),
            visibility: Some(Visibility::Public),
            invite_code: Some("def".into()),
            icon_url: Some(Some("http://x/i.png".into())),
            ..Default::default()
        },
    )?;
    assert_eq!(updated.name, "Guild 2");
    assert_eq!(updated.visibility, Visibility::Public);
    assert_eq!(updated.icon_url.as_deref(), Some("http://x/i.png"));
    assert_eq!(servers::find_by_invite_code(c, "abc")?, None);

    let mut ch = NewConversationRow::new(ConversationKind::Channel, Some(alice.id));
    ch.server_id = Some(s.id);
    let channel = conversations::insert(c, ch)?;
    let msg = say(c, channel.id, alice.id, "hi")?;
    servers::delete(c, s.id)?;
    assert!(matches!(servers::find(c, s.id), Err(DbError::NotFound)));
    assert!(matches!(
        conversations::find(c, channel.id),
        Err(DbError::NotFound)
    ));
    assert!(matches!(messages::find(c, msg.id), Err(DbError::NotFound)));
    assert_eq!(servers::find_member(c, s.id, alice.id)?, None);
    assert!(matches!(servers::delete(c, s.id), Err(DbError::NotFound)));
    assert!(matches!(
        servers::update(c, ServerId(s.id.0 + 1), &ServerChanges::default()),
        Err(DbError::NotFound)
    ));
});

both_backends!(membership, |c| {
    let alice = user(c, "alice")?;
    let bob = user(c, "bob")?;
    let s1 = servers::insert(c, server(alice.id, "One", "c1", Visibility::Public))?;
    let s2 = servers::insert(c, server(bob.id, "Two", "c2", Visibility::Private))?;

    let m = servers::add_member(c, s1.id, bob.id, MemberRole::Member)?;
    assert_eq!(m.role, MemberRole::Member);
    let again = servers::add_member(c, s1.id, bob.id, MemberRole::Admin)?;
    assert_eq!(again, m, "joining twice keeps the first membership");
    let owner = servers::add_member(c, s1.id, alice.id, MemberRole::Member)?;
    assert_eq!(owner.role, MemberRole::Owner);

    let members: Vec<(UserId, String)> = servers::list_members(c, s1.id)?
        .into_iter()
        .map(|(m, name)| (m.user_id, name))
        .collect();
    assert_eq!(
        members,
        [(alice.id, "alice".into()), (bob.id, "bob".into())]
    );
    assert_eq!(servers::count_members(c, s1.id)?, 2);
    let bobs: Vec<ServerId> = servers::list_for_user(c, bob.id)?
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(bobs, [s2.id, s1.id], "in join order");
    let public: Vec<ServerId> = servers::list_public(c, 10, 0)?
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(public, [s1.id]);

    assert_eq!(
        servers::set_member_role(c, s1.id, bob.id, MemberRole::Admin)?.role,
        MemberRole::Admin
    );
    assert!(servers::remove_member(c, s1.id, bob.id)?);
    assert!(!servers::remove_member(c, s1.id, bob.id)?);
    assert_eq!(servers::find_member(c, s1.id, bob.id)?, None);
    assert!(matches!(
        servers::set_member_role(c, s1.id, bob.id, MemberRole::Member),
        Err(DbError::NotFound)
    ));
    let err = servers::add_member(c, ServerId(s2.id.0 + 10), bob.id, MemberRole::Member);
    assert!(matches!(err, Err(DbError::ForeignKey)), "{err:?}");
});
