//! Members of group rooms: changing roles and removing people (under [`crate::roles`]), with
//! the events every member and the removed person receive.

use db::conversations::ConversationRow;
use db::members::MemberRow;
use domain::events::{ConversationEvent, UserEvent};
use domain::{ConversationId, ConversationKind, MemberRole, UserId};

use crate::error::{ChatError, Resource};
use crate::{access, messages, roles, Actor, ChatContext};

/// The group and the actor's membership; DMs, AI chats and channels (whose members are their
/// server's) have no member management here.
pub async fn group(
    ctx: &ChatContext,
    id: ConversationId,
    actor: &Actor,
) -> Result<(ConversationRow, MemberRow), ChatError> {
    let (conversation, member) = access::member_conversation(ctx, id, actor.id).await?;
    if conversation.kind != ConversationKind::Group {
        return Err(ChatError::Conflict(
            "members can be managed only in group conversations",
        ));
    }
    Ok((conversation, member))
}

async fn active_member(
    ctx: &ChatContext,
    id: ConversationId,
    user: UserId,
) -> Result<MemberRow, ChatError> {
    db::run(&ctx.db, move |c| db::members::find(c, id, user))
        .await?
        .filter(|m| m.left_at.is_none())
        .ok_or(ChatError::NotFound(Resource::Member))
}

/// Gives `target` the role `new_role`; `owner` transfers ownership.
pub async fn change_role(
    ctx: &ChatContext,
    actor: &Actor,
    id: ConversationId,
    target: UserId,
    new_role: MemberRole,
) -> Result<(), ChatError> {
    let (_, me) = group(ctx, id, actor).await?;
    let current = active_member(ctx, id, target).await?.role;
    if target == actor.id || !roles::may_change_role(me.role, current, new_role) {
        return Err(ChatError::Forbidden(
            "you may not change this member's role",
        ));
    }
    let me_id = actor.id;
    db::run(&ctx.db, move |c| {
        db::transaction(c, |c| {
            if new_role == MemberRole::Owner {
                db::members::set_role(c, id, me_id, MemberRole::Admin)?;
            }
            db::members::set_role(c, id, target, new_role)
        })
    })
    .await?;
    if new_role == MemberRole::Owner {
        let demoted = ConversationEvent::MemberRoleChanged {
            user_id: me_id,
            role: MemberRole::Admin,
        };
        messages::publish(ctx, id, demoted).await?;
    }
    let changed = ConversationEvent::MemberRoleChanged {
        user_id: target,
        role: new_role,
    };
    messages::publish(ctx, id, changed).await
}

/// Removes `target` from the group, or the actor leaves (an owner only when alone: ownership
/// must be transferred first).
pub async fn remove(
    ctx: &ChatContext,
    actor: &Actor,
    id: ConversationId,
    target: UserId,
) -> Result<(), ChatError> {
    let (_, me) = group(ctx, id, actor).await?;
    let target_role = active_member(ctx, id, target).await?.role;
    if target == actor.id {
        if me.role == MemberRole::Owner {
            let others = db::run(&ctx.db, move |c| db::members::count_active(c, id)).await? - 1;
            if others > 0 {
                return Err(ChatError::Conflict("transfer ownership before leaving"));
            }
        }
    } else if !roles::may_remove(me.role, target_role) {
        return Err(ChatError::Forbidden("you may not remove this member"));
    }
    db::run(&ctx.db, move |c| db::members::remove(c, id, target)).await?;
    messages::publish(ctx, id, ConversationEvent::MemberLeft { user_id: target }).await?;
    // The removed person's other devices stop showing the room; best effort, the membership
    // change above is what counts.
    let removed = UserEvent::ConversationRemoved {
        conversation_id: id,
    };
    if let Err(e) = ctx.bus.publish_user(target, &removed).await {
        tracing::warn!(error = %e, user = %target, "conversation.removed not announced");
    }
    Ok(())
}
