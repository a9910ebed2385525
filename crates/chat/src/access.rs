//! Who may see and act in a conversation. Strangers get 404, never a hint that it exists.

use crate::error::{ChatError, Resource};
use crate::ChatContext;
use db::conversations::ConversationRow;
use db::members::MemberRow;
use domain::{ConversationId, ConversationKind, UserId};

/// The conversation, if `user` is an active member of it; otherwise 404.
pub async fn member_conversation(
    ctx: &ChatContext,
    conversation_id: ConversationId,
    user: UserId,
) -> Result<(ConversationRow, MemberRow), ChatError> {
    let found = db::run(&ctx.db, move |c| {
        find_member_conversation(c, conversation_id, user)
    })
    .await?;
    found.ok_or_else(not_a_member)
}

/// The answer to a stranger (or a member who left): the conversation does not exist for them.
pub fn not_a_member() -> ChatError {
    ChatError::NotFound(Resource::Conversation)
}

/// [`member_conversation`] on a connection the caller already holds, for callers that read more
/// in the same round trip; `None` means "not a member" (answer with [`not_a_member`]).
pub fn find_member_conversation(
    c: &mut db::DbConn,
    conversation_id: ConversationId,
    user: UserId,
) -> Result<Option<(ConversationRow, MemberRow)>, db::DbError> {
    let conversation = match db::conversations::find(c, conversation_id) {
        Ok(row) => row,
        Err(db::DbError::NotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    let member = db::members::find(c, conversation_id, user)?;
    // A channel's membership follows its server's: every server member is in every channel,
    // with their server role. The conversation member row (if any) only keeps the read marker.
    if let (ConversationKind::Channel, Some(server)) = (conversation.kind, conversation.server_id) {
        return Ok(db::servers::find_member(c, server, user)?.map(|sm| {
            let member = MemberRow {
                conversation_id,
                user_id: user,
                role: sm.role,
                joined_at: sm.joined_at,
                left_at: None,
                last_read_message_id: member.and_then(|m| m.last_read_message_id),
                pinned_at: None,
                archived_at: None,
            };
            (conversation, member)
        }));
    }
    Ok(member
        .filter(|m| m.left_at.is_none())
        .map(|m| (conversation, m)))
}

/// As [`member_conversation`], and the member's role must be owner or admin (403 otherwise: the
/// member can see the conversation, just not manage it).
pub async fn managed_conversation(
    ctx: &ChatContext,
    conversation_id: ConversationId,
    user: UserId,
) -> Result<(ConversationRow, MemberRow), ChatError> {
    let (conversation, member) = member_conversation(ctx, conversation_id, user).await?;
    if !member.role.can_manage() {
        return Err(ChatError::Forbidden(
            "only the owner or an admin may do this",
        ));
    }
    Ok((conversation, member))
}
