//! The wire forms of conversations, shared by the AI chat routes (`conversations`) and the
//! people-to-people routes (`social`), which otherwise would import each other.

use chrono::{DateTime, Utc};
use db::conversations::{ConversationRow, ConversationSummary};
use domain::events::MessageView;
use domain::{
    CharacterId, ConversationId, ConversationKind, MemberRole, MessageId, ServerId, UserId,
    Visibility,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::routes::users::utc;

#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationView {
    #[schema(value_type = i64)]
    pub id: ConversationId,
    #[schema(value_type = String, example = "ai_chat")]
    pub kind: ConversationKind,
    pub title: String,
    pub description: String,
    #[schema(value_type = Option<i64>)]
    pub character_id: Option<CharacterId>,
    #[schema(value_type = Option<i64>)]
    pub server_id: Option<ServerId>,
    #[schema(value_type = Option<i64>)]
    pub owner_id: Option<UserId>,
    #[schema(value_type = String)]
    pub visibility: Visibility,
    pub member_limit: i32,
    /// The caller's role in the conversation.
    #[schema(value_type = Option<String>)]
    pub role: Option<MemberRole>,
    #[schema(value_type = Option<Object>)]
    pub last_message: Option<MessageView>,
    pub unread_count: i64,
    /// Pinned to the top of the caller's list.
    pub pinned: bool,
    /// In the caller's archive (out of the main list).
    pub archived: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_message_at: Option<DateTime<Utc>>,
    /// For a conversation made by "branch from here": the conversation it was copied from.
    #[schema(value_type = Option<i64>)]
    pub origin_conversation_id: Option<ConversationId>,
    /// … and the message the copy ends with there.
    #[schema(value_type = Option<i64>)]
    pub origin_message_id: Option<MessageId>,
}

impl ConversationView {
    pub fn new(row: &ConversationRow, role: Option<MemberRole>) -> Self {
        Self {
            id: row.id,
            kind: row.kind,
            title: row.title.clone(),
            description: row.description.clone(),
            character_id: row.character_id,
            server_id: row.server_id,
            owner_id: row.owner_id,
            visibility: row.visibility,
            member_limit: row.member_limit,
            role,
            last_message: None,
            unread_count: 0,
            pinned: false,
            archived: false,
            created_at: utc(row.created_at),
            updated_at: utc(row.updated_at),
            last_message_at: row.last_message_at.map(utc),
            origin_conversation_id: row.origin_conversation_id,
            origin_message_id: row.origin_message_id,
        }
    }

    pub(crate) fn from_summary(summary: &ConversationSummary) -> Self {
        let mut view = Self::new(&summary.conversation, Some(summary.role));
        view.last_message = summary.last_message.as_ref().map(|m| m.to_view(None));
        view.unread_count = summary.unread_count;
        view.pinned = summary.pinned_at.is_some();
        view.archived = summary.archived_at.is_some();
        view
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConversationRequest {
    /// `ai_chat` (with `character_id`); `direct` and `group` are described in the social API.
    #[schema(value_type = String, example = "ai_chat")]
    pub kind: ConversationKind,
    #[schema(value_type = Option<i64>)]
    pub character_id: Option<CharacterId>,
    pub title: Option<String>,
    pub description: Option<String>,
    /// For `direct`: the other user.
    #[schema(value_type = Option<i64>)]
    pub user_id: Option<UserId>,
    #[schema(value_type = Option<String>)]
    pub visibility: Option<Visibility>,
    pub member_limit: Option<i32>,
}
