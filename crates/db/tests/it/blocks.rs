use db::blocks;

use crate::support::{delete_user, user};

both_backends!(block_unblock_and_queries, |c| {
    let alice = user(c, "alice")?;
    let bob = user(c, "bob")?;
    let carol = user(c, "carol")?;
    assert!(blocks::block(c, alice.id, bob.id)?);
    assert!(
        !blocks::block(c, alice.id, bob.id)?,
        "blocking twice is a no-op"
    );
    assert!(blocks::block(c, alice.id, carol.id)?);
    assert!(blocks::block(c, carol.id, bob.id)?);

    assert!(blocks::is_blocked_either_way(c, alice.id, bob.id)?);
    assert!(blocks::is_blocked_either_way(c, bob.id, alice.id)?);
    assert!(!blocks::is_blocked_either_way(c, bob.id, bob.id)?);

    let listed: Vec<_> = blocks::list(c, alice.id)?
        .into_iter()
        .map(|b| b.blocked_id)
        .collect();
    assert_eq!(listed.len(), 2);
    assert!(listed.contains(&bob.id) && listed.contains(&carol.id));
    assert_eq!(blocks::blocked_by(c, alice.id)?, [bob.id, carol.id]);
    assert_eq!(blocks::blockers_of(c, bob.id)?, [alice.id, carol.id]);
    assert!(blocks::blocked_by(c, bob.id)?.is_empty());

    assert!(blocks::unblock(c, alice.id, bob.id)?);
    assert!(!blocks::unblock(c, alice.id, bob.id)?);
    assert!(!blocks::is_blocked_either_way(c, alice.id, bob.id)?);

    delete_user(c, carol.id)?;
    assert!(
        blocks::blockers_of(c, bob.id)?.is_empty(),
        "blocks go with their user"
    );
});
