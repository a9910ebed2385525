//! Who may see and act in a conversation. Strangers get 404, never a hint that it exists.

use db::conversations::ConversationRow;
use db::members::MemberRow;
use domain::{ConversationId, MemberRole, UserId};
use platform::ApiError;

use crate::ChatContext;

/// The conversation, if `user` is an active member of it; otherwise 404.
pub async fn member_conversation(
    ctx: &ChatContext,
    conversation_id: ConversationId,
    user: UserId,
) -> Result<(ConversationRow, MemberRow), ApiError> {
    let found = db::run(&ctx.db, move |c| {
        let member = db::members::find(c, conversation_id, user)?;
        match member {
            Some(m) if m.left_at.is_none() => {
                Ok(Some((db::conversations::find(c, conversation_id)?, m)))
            }
            _ => Ok(None),
        }
    })
    .await?;
    found.ok_or_else(|| ApiError::not_found("conversation not found"))
}

/// As [`member_conversation`], and the member's role must be owner or admin (403 otherwise: the
/// member can see the conversation, just not manage it).
pub async fn managed_conversation(
    ctx: &ChatContext,
    conversation_id: ConversationId,
    user: UserId,
) -> Result<(ConversationRow, MemberRow), ApiError> {
    let (conversation, member) = member_conversation(ctx, conversation_id, user).await?;
    if !member.role.can_manage() {
        return Err(ApiError::forbidden(
            "only the owner or an admin may do this",
        ));
    }
    Ok((conversation, member))
}

/// Whether `role` is the owner's.
pub fn is_owner(member: &MemberRow) -> bool {
    member.role == MemberRole::Owner
}
