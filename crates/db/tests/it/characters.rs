use db::characters::{self, CharacterChanges, NewCharacterRow};
use db::DbError;
use domain::{CharacterId, UserId, Visibility};

use crate::support::{delete_user, user};

/// Keys out of order and a number wider than f64: a JSON parse-and-reserialise would change it.
const EXTENSIONS: &str = r#"{"z":1,"a":{"depth_prompt":"x"},"big":12345678901234567890123}"#;

fn card(owner: UserId, name: &str, visibility: Visibility, tags: &[&str]) -> NewCharacterRow {
    let mut new = NewCharacterRow::new(owner, name);
    new.visibility = visibility;
    new.tags = tags.iter().map(|t| (*t).to_owned()).collect();
    new
}

both_backends!(insert_find_update_delete, |c| {
    let alice = user(c, "alice")?;
    let mut new = card(
        alice.id,
        "Seraphina",
        Visibility::Public,
        &["fantasy", "elf"],
    );
    new.description = "A guardian".into();
    new.alternate_greetings = vec!["Hello".into(), "Hi \"there\"".into()];
    new.avatar_url = Some("http://x/s.png".into());
    new.model_preference = Some("openai/gpt-4o".into());
    new.extensions = EXTENSIONS.into();
    let ch = characters::insert(c, new)?;
    assert_eq!(ch.owner_id, alice.id);
    assert_eq!(ch.tags, ["fantasy", "elf"]);
    assert_eq!(ch.alternate_greetings, ["Hello", "Hi \"there\""]);
    assert_eq!(
        ch.extensions, EXTENSIONS,
        "extensions are kept byte for byte"
    );
    assert_eq!(characters::find(c, ch.id)?, ch);

    let updated = characters::update(
        c,
        ch.id,
        &CharacterChanges {
            name: Some("Sera".into()),
            tags: Some(vec!["guardian".into()]),
            alternate_greetings: Some(Vec::new()),
            visibility: Some(Visibility::Private),
            avatar_url: Some(None),
            ..Default::default()
        },
    )?;
    assert_eq!(updated.name, "Sera");
    assert_eq!(updated.tags, ["guardian"]);
    assert!(updated.alternate_greetings.is_empty());
    assert_eq!(updated.visibility, Visibility::Private);
    assert_eq!(updated.avatar_url, None);
    assert_eq!(updated.description, "A guardian");
    assert_eq!(updated.model_preference.as_deref(), Some("openai/gpt-4o"));
    assert_eq!(updated.extensions, EXTENSIONS);

    characters::delete(c, ch.id)?;
    assert!(matches!(characters::find(c, ch.id), Err(DbError::NotFound)));
    assert!(matches!(
        characters::delete(c, ch.id),
        Err(DbError::NotFound)
    ));
    assert!(matches!(
        characters::update(c, CharacterId(ch.id.0 + 5), &CharacterChanges::default()),
        Err(DbError::NotFound)
    ));
});

both_backends!(list_visible_is_own_plus_public, |c| {
    let alice = user(c, "alice")?;
    let bob = user(c, "bob")?;
    let a_pub = characters::insert(
        c,
        card(
            alice.id,
            "Elf Queen",
            Visibility::Public,
            &["Fantasy", "elf"],
        ),
    )?;
    let a_priv = characters::insert(
        c,
        card(alice.id, "Secret Elf", Visibility::Private, &["elf"]),
    )?;
    let b_priv = characters::insert(
        c,
        card(
            bob.id,
            "Robot 100%",
            Visibility::Private,
            &["scifi", "elfish"],
        ),
    )?;

    let ids =
        |rows: Vec<characters::CharacterRow>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
    // Most recently updated first.
    assert_eq!(
        ids(characters::list_visible(c, bob.id, None, None, 10, 0)?),
        [b_priv.id, a_pub.id]
    );
    assert_eq!(
        ids(characters::list_visible(c, alice.id, None, None, 10, 0)?),
        [a_priv.id, a_pub.id]
    );
    assert_eq!(
        ids(characters::list_visible(c, alice.id, None, None, 1, 1)?),
        [a_pub.id]
    );
    // Name search is a case-insensitive substring; wildcards are literal.
    assert_eq!(
        ids(characters::list_visible(
            c,
            bob.id,
            Some("ELF"),
            None,
            10,
            0
        )?),
        [a_pub.id]
    );
    assert_eq!(
        ids(characters::list_visible(
            c,
            bob.id,
            Some("100%"),
            None,
            10,
            0
        )?),
        [b_priv.id]
    );
    assert!(characters::list_visible(c, bob.id, Some("%"), None, 10, 0)?.len() == 1);
    // A tag matches a whole element, in any case: `elf` is not `elfish`.
    assert_eq!(
        ids(characters::list_visible(
            c,
            bob.id,
            None,
            Some("elf"),
            10,
            0
        )?),
        [a_pub.id]
    );
    assert_eq!(
        ids(characters::list_visible(
            c,
            bob.id,
            None,
            Some("fantasy"),
            10,
            0
        )?),
        [a_pub.id]
    );
    assert_eq!(
        ids(characters::list_visible(
            c,
            alice.id,
            Some("secret"),
            Some("elf"),
            10,
            0
        )?),
        [a_priv.id]
    );

    assert_eq!(
        ids(characters::list_for_owner(c, alice.id)?),
        [a_priv.id, a_pub.id]
    );
});

both_backends!(characters_go_with_their_owner, |c| {
    let alice = user(c, "alice")?;
    let ch = characters::insert(c, card(alice.id, "Seraphina", Visibility::Public, &[]))?;
    delete_user(c, alice.id)?;
    assert!(matches!(characters::find(c, ch.id), Err(DbError::NotFound)));
    let orphan = characters::insert(c, card(alice.id, "Orphan", Visibility::Public, &[]));
    assert!(matches!(orphan, Err(DbError::ForeignKey)), "{orphan:?}");
});
