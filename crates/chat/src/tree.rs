//! A conversation as a tree of turns (issue 15): choosing among the variants of a turn, editing
//! one's message and rerunning from it (a new branch), and copying a path into a new
//! conversation. Regenerate (a new variant) and continue live with the other generations in
//! [`crate::generations`].

use db::conversations::{ConversationRow, NewConversationRow};
use db::messages::{MessageRow, NewMessageRow};
use domain::events::{ConversationEvent, ForkInfo, MessageView};
use domain::jobs::JobKind;
use domain::{
    ConversationId, ConversationKind, MemberRole, MessageContent, MessageId, MessageRole,
    MessageStatus, ValidationError,
};

use crate::error::{ChatError, Resource};
use crate::messages::{self, SendOutcome};
use crate::{access, Actor, ChatContext};

/// The outcome of choosing a variant or branch.
#[derive(Debug, Clone)]
pub struct Selected {
    /// The message now on the active path, with its place among its siblings.
    pub message: MessageView,
    /// The last message of the new active path.
    pub leaf_id: MessageId,
}

fn not_found(e: db::DbError) -> ChatError {
    match e {
        db::DbError::NotFound => ChatError::NotFound(Resource::Message),
        other => other.into(),
    }
}

/// A message of this conversation, or 404 (a message of another conversation is not found).
async fn message_in(
    ctx: &ChatContext,
    conversation_id: ConversationId,
    message_id: MessageId,
) -> Result<MessageRow, ChatError> {
    let row = db::run(&ctx.db, move |c| db::messages::find(c, message_id))
        .await
        .map_err(not_found)?;
    if row.conversation_id != conversation_id {
        return Err(ChatError::NotFound(Resource::Message));
    }
    Ok(row)
}

/// Makes the `index`-th (0-based, oldest first) of `message_id`'s siblings the active one and
/// the path below it the active path. For an AI turn that is a swipe (`message.variant_selected`);
/// for a person's message, choosing a branch (`conversation.path_changed`). In groups and
/// channels only AI turns have variants, and only the author of the message they answer and
/// owners/admins may choose. Refused while a reply on the path is streaming.
pub async fn select_variant(
    ctx: &ChatContext,
    actor: &Actor,
    conversation_id: ConversationId,
    message_id: MessageId,
    index: u32,
) -> Result<Selected, ChatError> {
    let (conversation, member) =
        access::member_conversation(ctx, conversation_id, actor.id).await?;
    let row = message_in(ctx, conversation_id, message_id).await?;
    let room = conversation.kind != ConversationKind::AiChat;
    if room && row.role != MessageRole::Assistant {
        return Err(ChatError::Conflict("only AI replies have variants here"));
    }
    if row.deleted_at.is_some() {
        return Err(ChatError::Conflict("a deleted message has no variants"));
    }
    let (streaming, siblings, answered) = db::run(&ctx.db, move |c| {
        let streaming = db::tree::streaming_on_path(c, conversation_id)?;
        let siblings = db::tree::siblings(c, &row)?;
        let answered = match row.reply_to_id {
            Some(id) => Some(db::messages::find(c, id)?),
            None => None,
        };
        Ok((streaming, siblings, answered))
    })
    .await
    .map_err(not_found)?;
    if room && !member.role.can_manage() && answered.is_none_or(|m| m.author_id != Some(actor.id)) {
        return Err(ChatError::Forbidden(
            "only the author of the message it answers, the owner or an admin may do this",
        ));
    }
    let target = siblings.get(index as usize).cloned().ok_or_else(|| {
        ChatError::from(ValidationError::new(
            "index",
            format!("must be between 0 and {}", siblings.len().saturating_sub(1)),
        ))
    })?;
    if streaming {
        return Err(ChatError::Conflict(
            "a reply is still being generated; stop it first",
        ));
    }
    let count = siblings.len() as u32;
    let role = target.role;
    let (view, leaf_id) = db::run(&ctx.db, move |c| {
        let leaf = db::transaction(c, |c| db::tree::switch_to(c, &target))?;
        let target = db::messages::find(c, target.id)?;
        let mut views = db::messages::views(c, std::slice::from_ref(&target))?;
        db::tree::annotate_forks(c, conversation_id, &mut views, room)?;
        Ok((views.pop().ok_or(db::DbError::NotFound)?, leaf))
    })
    .await?;
    let event = if role == MessageRole::Assistant {
        ConversationEvent::VariantSelected {
            conversation_id,
            message_id: view.id,
            index,
            count,
            leaf_id,
        }
    } else {
        ConversationEvent::PathChanged {
            conversation_id,
            message_id: view.id,
            leaf_id,
        }
    };
    messages::publish(ctx, conversation_id, event).await?;
    Ok(Selected {
        message: view,
        leaf_id,
    })
}

/// "Save and rerun": the author's edited message becomes a new sibling of `message_id` that
/// starts a new branch, the old message and everything after it stay reachable as the other
/// branch, and a new reply streams. AI chats only. Publishes `message.created` and
/// `conversation.path_changed`.
pub async fn rerun(
    ctx: &ChatContext,
    actor: &Actor,
    conversation_id: ConversationId,
    message_id: MessageId,
    content: &str,
) -> Result<SendOutcome, ChatError> {
    let content = MessageContent::parse(content, ctx.settings.chat.effective_max_chars())?;
    let (conversation, _) = access::member_conversation(ctx, conversation_id, actor.id).await?;
    if conversation.kind != ConversationKind::AiChat {
        return Err(ChatError::Conflict(
            "only AI conversations can rerun from a message",
        ));
    }
    let row = message_in(ctx, conversation_id, message_id).await?;
    if row.author_id != Some(actor.id) || row.role != MessageRole::User {
        return Err(ChatError::Forbidden(
            "only the author may edit and rerun a message",
        ));
    }
    if row.deleted_at.is_some() {
        return Err(ChatError::Conflict("a deleted message cannot be edited"));
    }
    let (author, character) = (actor.id, conversation.character_id);
    let text = content.into_inner();
    let stored = db::run(&ctx.db, move |c| {
        if db::tree::streaming_on_path(c, conversation_id)? {
            return Ok(None);
        }
        db::transaction(c, |c| {
            let new = NewMessageRow::user(conversation_id, author, &text);
            let inserted = db::messages::insert_under(c, new, row.parent_id, true)?;
            let leaf = db::tree::switch_to(c, &inserted)?;
            db::stats::record_user_message(
                c,
                author,
                character,
                inserted.created_at.date(),
                inserted.id,
            )?;
            let job = messages::job(
                messages::reply_job_id(inserted.id),
                JobKind::Reply,
                author,
                conversation_id,
                inserted.id,
            );
            db::outbox::insert(c, &job)?;
            let mut views = db::messages::views(c, std::slice::from_ref(&inserted))?;
            db::tree::annotate_forks(c, conversation_id, &mut views, false)?;
            let view = views.pop().ok_or(db::DbError::NotFound)?;
            Ok(Some((view, job, leaf)))
        })
    })
    .await?;
    let (message, job, leaf_id) = stored.ok_or(ChatError::Conflict(
        "a reply is still being generated; stop it first",
    ))?;
    messages::publish(
        ctx,
        conversation_id,
        ConversationEvent::MessageCreated {
            message: message.clone(),
        },
    )
    .await?;
    messages::publish(
        ctx,
        conversation_id,
        ConversationEvent::PathChanged {
            conversation_id,
            message_id: message.id,
            leaf_id,
        },
    )
    .await?;
    messages::enqueue(ctx, &job).await?;
    Ok(SendOutcome {
        message,
        job_id: Some(job.job_id),
        created: true,
    })
}

/// "Branch from here": copies the active path up to `message_id` into a new AI chat owned by
/// the actor, which records where it came from. Finished messages are copied (deleted ones,
/// failed replies and those still streaming are not). AI chats only.
pub async fn branch(
    ctx: &ChatContext,
    actor: &Actor,
    conversation_id: ConversationId,
    message_id: MessageId,
) -> Result<ConversationRow, ChatError> {
    let (conversation, _) = access::member_conversation(ctx, conversation_id, actor.id).await?;
    if conversation.kind != ConversationKind::AiChat {
        return Err(ChatError::Conflict("only AI conversations can be branched"));
    }
    let row = message_in(ctx, conversation_id, message_id).await?;
    if row.deleted_at.is_some() || row.status == MessageStatus::Streaming {
        return Err(ChatError::Conflict(
            "branch from a finished message that is not deleted",
        ));
    }
    let owner = actor.id;
    db::run(&ctx.db, move |c| {
        let path = db::tree::path_to(c, &row)?;
        db::transaction(c, |c| {
            let mut new = NewConversationRow::new(ConversationKind::AiChat, Some(owner));
            new.title = conversation.title.clone();
            new.description = conversation.description.clone();
            new.character_id = conversation.character_id;
            new.member_limit = 1;
            let copy =
                db::conversations::insert_with_members(c, new, &[(owner, MemberRole::Owner)])?;
            db::conversations::set_origin(c, copy.id, conversation_id, message_id)?;
            let mut parent = None;
            let mut copied = std::collections::HashMap::new();
            for m in path.into_iter().filter(|m| {
                m.deleted_at.is_none()
                    && !matches!(m.status, MessageStatus::Streaming | MessageStatus::Failed)
            }) {
                let new = NewMessageRow {
                    conversation_id: copy.id,
                    author_id: m.author_id,
                    character_id: m.character_id,
                    role: m.role,
                    message_type: m.message_type,
                    content: m.content,
                    metadata: m.metadata,
                    reply_to_id: m.reply_to_id.and_then(|r| copied.get(&r).copied()),
                    status: m.status,
                    job_id: None,
                    client_id: None,
                    prompt_tokens: m.prompt_tokens,
                    completion_tokens: m.completion_tokens,
                    model: m.model,
                };
                let inserted = db::messages::insert_under(c, new, parent, true)?;
                copied.insert(m.id, inserted.id);
                parent = Some(inserted.id);
            }
            db::conversations::find(c, copy.id)
        })
    })
    .await
    .map_err(ChatError::from)
}

/// The greetings an AI chat opens with: the card's greeting and each alternate greeting, as
/// sibling first turns; the first is on the active path, the user swipes to the others.
pub fn store_greetings(
    c: &mut db::DbConn,
    conversation_id: ConversationId,
    character: &db::characters::CharacterRow,
    greetings: Vec<String>,
) -> Result<Option<ForkInfo>, db::DbError> {
    let greetings: Vec<String> = greetings
        .into_iter()
        .filter(|g| !g.trim().is_empty())
        .collect();
    let count = greetings.len() as u32;
    for (i, text) in greetings.into_iter().enumerate() {
        let mut new = NewMessageRow::user(conversation_id, domain::UserId(0), &text);
        new.author_id = None;
        new.character_id = Some(character.id);
        new.role = MessageRole::Assistant;
        db::messages::insert_under(c, new, None, i == 0)?;
    }
    Ok((count > 1).then_some(ForkInfo { index: 0, count }))
}
