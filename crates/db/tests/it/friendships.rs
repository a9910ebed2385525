use db::friendships;
use db::DbError;
use domain::{FriendshipStatus, UserId};

use crate::support::user;

fn ids_of(rows: &[friendships::FriendshipRow], me: UserId) -> Vec<UserId> {
    rows.iter().map(|f| f.other(me)).collect()
}

both_backends!(request_and_accept, |c| {
    let alice = user(c, "alice")?;
    let bob = user(c, "bob")?;
    let req = friendships::request(c, alice.id, bob.id)?;
    assert_eq!(req.status, FriendshipStatus::Pending);
    assert_eq!((req.requester_id, req.addressee_id), (alice.id, bob.id));
    assert_eq!(
        friendships::find_between(c, bob.id, alice.id)?,
        Some(req.clone())
    );
    assert_eq!(friendships::find(c, req.id)?, req);

    // One row per pair, in either direction.
    let err = friendships::request(c, alice.id, bob.id).unwrap_err();
    assert!(matches!(err, DbError::Conflict(_)), "{err:?}");
    let err = friendships::request(c, bob.id, alice.id).unwrap_err();
    assert!(err.is_conflict_on("pair_key"), "{err:?}");

    assert!(!friendships::are_friends(c, alice.id, bob.id)?);
    assert!(
        matches!(
            friendships::accept(c, req.id, alice.id),
            Err(DbError::NotFound)
        ),
        "only the addressee can accept"
    );
    let accepted = friendships::accept(c, req.id, bob.id)?;
    assert_eq!(accepted.status, FriendshipStatus::Accepted);
    assert!(accepted.responded_at.is_some());
    assert!(matches!(
        friendships::accept(c, req.id, bob.id),
        Err(DbError::NotFound)
    ));
    assert!(matches!(
        friendships::reject(c, req.id, bob.id),
        Err(DbError::NotFound)
    ));
    assert!(friendships::are_friends(c, bob.id, alice.id)?);
    assert_eq!(
        ids_of(&friendships::list_accepted(c, alice.id)?, alice.id),
        [bob.id]
    );
    assert_eq!(
        ids_of(&friendships::list_accepted(c, bob.id)?, bob.id),
        [alice.id]
    );
});

both_backends!(incoming_outgoing_reject_and_delete, |c| {
    let alice = user(c, "alice")?;
    let bob = user(c, "bob")?;
    let carol = user(c, "carol")?;
    let ab = friendships::request(c, alice.id, bob.id)?;
    let ca = friendships::request(c, carol.id, alice.id)?;
    assert_eq!(
        ids_of(&friendships::list_outgoing(c, alice.id)?, alice.id),
        [bob.id]
    );
    assert_eq!(
        ids_of(&friendships::list_incoming(c, alice.id)?, alice.id),
        [carol.id]
    );
    assert_eq!(
        ids_of(&friendships::list_incoming(c, bob.id)?, bob.id),
        [alice.id]
    );
    assert!(friendships::list_accepted(c, alice.id)?.is_empty());

    let rejected = friendships::reject(c, ca.id, alice.id)?;
    assert_eq!(rejected.status, FriendshipStatus::Rejected);
    assert!(friendships::list_incoming(c, alice.id)?.is_empty());
    assert!(friendships::list_accepted(c, alice.id)?.is_empty());

    friendships::delete(c, ab.id)?;
    assert!(matches!(
        friendships::delete(c, ab.id),
        Err(DbError::NotFound)
    ));
    assert_eq!(friendships::find_between(c, alice.id, bob.id)?, None);
    assert!(friendships::list_outgoing(c, alice.id)?.is_empty());
    // After a delete the pair may start over.
    friendships::request(c, bob.id, alice.id)?;
});
