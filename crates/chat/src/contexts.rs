//! The context report of a reply: what the model was shown. The conversation's owner and (in
//! rooms) its admins may read it — it carries the card, the persona and lorebook text; other
//! members get 403, strangers 404.

use domain::context::ContextReport;
use domain::{ConversationId, MessageId};

use crate::error::{ChatError, Resource};
use crate::{access, Actor, ChatContext};

pub async fn get(
    ctx: &ChatContext,
    actor: &Actor,
    conversation: ConversationId,
    message: MessageId,
) -> Result<ContextReport, ChatError> {
    access::managed_conversation(ctx, conversation, actor.id).await?;
    let stored = db::run(&ctx.db, move |c| {
        let row = match db::messages::find(c, message) {
            Ok(row) => row,
            Err(db::DbError::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        if row.conversation_id != conversation {
            return Ok(None);
        }
        db::contexts::find(c, message)
    })
    .await?;
    let text = stored.ok_or(ChatError::NotFound(Resource::Context))?;
    serde_json::from_str(&text).map_err(|e| {
        tracing::warn!(%message, error = %e, "stored context report does not parse");
        ChatError::NotFound(Resource::Context)
    })
}
