//! The one rule about roles, for group rooms and servers alike (they used to differ: a group's
//! admins could promote members while a server's could not, and a server's owner could not be
//! told apart from an admin when removing).
//!
//! - The owner may remove anyone but themselves and give anyone else any role; giving `owner`
//!   transfers ownership (the old owner becomes an admin).
//! - Admins may remove members, and move a member to admin (or leave them member); they never
//!   touch other admins or the owner.
//! - Members manage no one.
//! - Nobody changes their own role or removes themselves this way (that is leaving).

use domain::MemberRole;

/// Whether `actor` may remove a member holding `target`.
pub fn may_remove(actor: MemberRole, target: MemberRole) -> bool {
    match actor {
        MemberRole::Owner => target != MemberRole::Owner,
        MemberRole::Admin => target == MemberRole::Member,
        MemberRole::Member => false,
    }
}

/// Whether `actor` may give a member holding `current` the role `new`.
pub fn may_change_role(actor: MemberRole, current: MemberRole, new: MemberRole) -> bool {
    match actor {
        MemberRole::Owner => current != MemberRole::Owner,
        MemberRole::Admin => current == MemberRole::Member && new != MemberRole::Owner,
        MemberRole::Member => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MemberRole::{Admin, Member, Owner};

    #[test]
    fn owners_manage_everyone_else_admins_only_members() {
        assert!(may_remove(Owner, Admin) && may_remove(Owner, Member));
        assert!(!may_remove(Owner, Owner));
        assert!(may_remove(Admin, Member));
        assert!(!may_remove(Admin, Admin) && !may_remove(Admin, Owner));
        assert!(!may_remove(Member, Member));

        assert!(may_change_role(Owner, Member, Owner), "ownership transfer");
        assert!(may_change_role(Owner, Admin, Member));
        assert!(may_change_role(Admin, Member, Admin));
        assert!(!may_change_role(Admin, Member, Owner));
        assert!(!may_change_role(Admin, Admin, Member));
        assert!(!may_change_role(Member, Member, Admin));
    }
}
