use chrono::Duration;
use db::refresh_tokens::{self, NewRefreshTokenRow};
use db::DbError;
use domain::UserId;

use crate::support::user;

fn token(user_id: UserId, hash: &str, family: &str) -> NewRefreshTokenRow {
    NewRefreshTokenRow {
        user_id,
        token_hash: hash.into(),
        family_id: family.into(),
        expires_at: db::now() + Duration::days(30),
    }
}

both_backends!(mark_used_wins_once_and_detects_replay, |c| {
    let alice = user(c, "alice")?;
    let t = refresh_tokens::insert(c, token(alice.id, "h1", "f1"))?;
    assert_eq!(refresh_tokens::find_by_hash(c, "h1")?, Some(t.clone()));
    assert_eq!(refresh_tokens::find_by_hash(c, "nope")?, None);

    let at = db::now();
    assert!(refresh_tokens::mark_used(c, t.id, at)?);
    assert!(!refresh_tokens::mark_used(c, t.id, at)?, "a replay loses");
    let used = refresh_tokens::find_by_hash(c, "h1")?.unwrap();
    assert_eq!(used.used_at, Some(at));

    let dup = refresh_tokens::insert(c, token(alice.id, "h1", "f2"));
    assert!(
        matches!(dup, Err(ref e) if e.is_conflict_on("token_hash")),
        "{dup:?}"
    );
    let orphan = refresh_tokens::insert(c, token(UserId(alice.id.0 + 9), "h9", "f9"));
    assert!(matches!(orphan, Err(DbError::ForeignKey)), "{orphan:?}");
});

both_backends!(revoke_family_all_and_expired, |c| {
    let alice = user(c, "alice")?;
    let bob = user(c, "bob")?;
    let a1 = refresh_tokens::insert(c, token(alice.id, "a1", "fa"))?;
    refresh_tokens::insert(c, token(alice.id, "a2", "fa"))?;
    let a3 = refresh_tokens::insert(c, token(alice.id, "a3", "fb"))?;
    let b1 = refresh_tokens::insert(c, token(bob.id, "b1", "fc"))?;
    let at = db::now();

    assert_eq!(refresh_tokens::revoke_family(c, "fa", at)?, 2);
    assert_eq!(
        refresh_tokens::revoke_family(c, "fa", at)?,
        0,
        "already revoked"
    );
    assert!(
        !refresh_tokens::mark_used(c, a1.id, at)?,
        "a revoked token cannot be used"
    );
    assert!(refresh_tokens::mark_used(c, a3.id, at)?);

    assert_eq!(refresh_tokens::revoke_all_for_user(c, alice.id, at)?, 1);
    let a3 = refresh_tokens::find_by_hash(c, "a3")?.unwrap();
    assert_eq!(a3.revoked_at, Some(at));
    assert_eq!(
        refresh_tokens::find_by_hash(c, "b1")?.unwrap().revoked_at,
        None
    );

    let mut old = token(bob.id, "old", "fd");
    old.expires_at = at - Duration::days(1);
    refresh_tokens::insert(c, old)?;
    assert_eq!(refresh_tokens::delete_expired(c, at)?, 1);
    assert_eq!(refresh_tokens::find_by_hash(c, "old")?, None);
    assert!(refresh_tokens::find_by_hash(c, &b1.token_hash)?.is_some());
});

both_backends!(tokens_go_with_their_user, |c| {
    let alice = user(c, "alice")?;
    refresh_tokens::insert(c, token(alice.id, "a1", "fa"))?;
    crate::support::delete_user(c, alice.id)?;
    assert_eq!(refresh_tokens::find_by_hash(c, "a1")?, None);
});
