use db::users::{self, NewUserRow, UserChanges};
use db::DbError;
use domain::{ErrorCode, Role, UserId};

use crate::support::user;

both_backends!(insert_and_find_round_trip, |c| {
    let mut new = NewUserRow::new("alice", "Alice@Example.COM", "h1");
    new.bio = "hi".into();
    let alice = users::insert(c, new)?;
    assert_eq!(alice.username, "alice");
    assert_eq!(
        alice.email, "alice@example.com",
        "emails are stored lower-cased"
    );
    assert_eq!(alice.role, Role::User);
    assert!(alice.is_active);
    assert_eq!(alice.display_name, "alice");
    assert_eq!(alice.created_at, alice.updated_at);
    // Timestamps survive the round trip exactly (microsecond precision on both backends).
    assert_eq!(users::find(c, alice.id)?, alice);
    assert!(matches!(
        users::find(c, UserId(alice.id.0 + 100)),
        Err(DbError::NotFound)
    ));
});

both_backends!(find_by_username_and_login, |c| {
    let alice = user(c, "alice")?;
    user(c, "bob")?;
    assert_eq!(
        users::find_by_username(c, "alice")?.map(|u| u.id),
        Some(alice.id)
    );
    // Usernames are one name in any case (issue 13, hole 10).
    assert_eq!(
        users::find_by_username(c, "ALICE")?.map(|u| u.id),
        Some(alice.id)
    );
    assert_eq!(
        users::find_by_login(c, "alice")?.map(|u| u.id),
        Some(alice.id)
    );
    assert_eq!(
        users::find_by_login(c, "ALICE@example.com")?.map(|u| u.id),
        Some(alice.id),
        "email logins are case-insensitive"
    );
    assert_eq!(users::find_by_login(c, "carol")?, None);
});

both_backends!(duplicate_username_or_email_is_conflict, |c| {
    user(c, "alice")?;
    let dup_name = users::insert(c, NewUserRow::new("alice", "other@example.com", "h"));
    let err = dup_name.unwrap_err();
    assert!(err.is_conflict_on("username"), "{err:?}");
    assert_eq!(err.code(), ErrorCode::Conflict);
    let dup_email = users::insert(c, NewUserRow::new("alice2", "ALICE@example.com", "h"));
    let err = dup_email.unwrap_err();
    assert!(err.is_conflict_on("email"), "{err:?}");
});

both_backends!(profile_role_active_and_activity_updates, |c| {
    let mut new = NewUserRow::new("alice", "a@example.com", "h");
    new.avatar_url = Some("http://x/a.png".into());
    let alice = users::insert(c, new)?;

    let changed = users::update_profile(
        c,
        alice.id,
        &UserChanges {
            display_name: Some("Alice A.".into()),
            bio: None,
            avatar_url: Some(None),
        },
    )?;
    assert_eq!(changed.display_name, "Alice A.");
    assert_eq!(changed.bio, alice.bio);
    assert_eq!(changed.avatar_url, None);
    assert!(changed.updated_at >= alice.updated_at);

    assert!(!users::set_active(c, alice.id, false)?.is_active);
    assert_eq!(users::set_role(c, alice.id, Role::Admin)?.role, Role::Admin);
    users::set_password_hash(c, alice.id, "h2")?;
    let at = db::now();
    users::touch_last_active(c, alice.id, at)?;
    let stored = users::find(c, alice.id)?;
    assert_eq!(stored.password_hash, "h2");
    assert_eq!(stored.last_active_at, Some(at));
    assert!(!stored.is_active);

    let missing = UserId(alice.id.0 + 1);
    assert!(matches!(
        users::update_profile(c, missing, &UserChanges::default()),
        Err(DbError::NotFound)
    ));
    assert!(matches!(
        users::set_active(c, missing, true),
        Err(DbError::NotFound)
    ));
    assert!(matches!(
        users::set_role(c, missing, Role::User),
        Err(DbError::NotFound)
    ));
    assert!(matches!(
        users::touch_last_active(c, missing, at),
        Err(DbError::NotFound)
    ));
    assert!(matches!(
        users::set_password_hash(c, missing, "x"),
        Err(DbError::NotFound)
    ));
});

both_backends!(search_count_and_paging, |c| {
    user(c, "alice")?;
    user(c, "alina")?;
    user(c, "bob")?;
    let mut carol = NewUserRow::new("carol", "c@example.com", "h");
    carol.display_name = "Big AL".into();
    users::insert(c, carol)?;

    let names =
        |rows: Vec<users::UserRow>| rows.into_iter().map(|u| u.username).collect::<Vec<_>>();
    assert_eq!(
        names(users::search(c, "AL", 10, 0)?),
        ["alice", "alina", "carol"]
    );
    assert_eq!(names(users::search(c, "al", 2, 1)?), ["alina", "carol"]);
    assert_eq!(users::count_search(c, "aL")?, 3);
    assert_eq!(users::count(c)?, 4);
    // LIKE wildcards in the query are literal characters.
    assert!(users::search(c, "%", 10, 0)?.is_empty());
    assert!(users::search(c, "a_i", 10, 0)?.is_empty());
    assert_eq!(users::count_search(c, "_")?, 0);
    // Nonsense paging does not reach SQL.
    assert!(users::search(c, "a", -5, -5).is_ok());
});

// Issue 13, hole 10: "Alice" and "alice" both registered.
both_backends!(usernames_are_unique_ignoring_case, |c| {
    let alice = user(c, "alice")?;
    let clash = users::insert(c, NewUserRow::new("ALICE", "other@example.com", "h"));
    let err = clash.unwrap_err();
    assert_eq!(err.code(), ErrorCode::Conflict);
    assert!(err.is_conflict_on("username"), "{err}");
    assert_eq!(
        users::find_by_username(c, "Alice")?.map(|u| u.id),
        Some(alice.id)
    );
    assert_eq!(
        users::find_by_login(c, "ALICE")?.map(|u| u.id),
        Some(alice.id)
    );
});

// Hole 10: existing clashes are reported by the migration, not merged.
both_backends!(the_migration_reports_existing_case_clashes, |c| {
    use diesel::RunQueryDsl;
    // As before the migration: no index, two names differing only in case.
    diesel::sql_query("DROP INDEX users_username_lower_key").execute(c)?;
    diesel::sql_query("DELETE FROM __diesel_schema_migrations WHERE version = '20261203000100'")
        .execute(c)?;
    users::insert(c, NewUserRow::new("Carol", "c1@example.com", "h"))?;
    users::insert(c, NewUserRow::new("carol", "c2@example.com", "h"))?;
    user(c, "dave")?;
    let err = db::run_migrations(c).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("Carol / carol"), "{message}");
    assert!(!message.contains("dave"), "{message}");
    // Once an operator renames one, the migration goes through.
    diesel::sql_query("UPDATE users SET username = 'carol2' WHERE username = 'carol'")
        .execute(c)?;
    assert_eq!(db::run_migrations(c)?, 1);
});
