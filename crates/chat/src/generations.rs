//! Generations — AI replies and stories — and the one rule for who may start and stop them.
//!
//! A job id names what it answers, so a stop request can be checked without any other record:
//! `reply-{message}`, `mention-{message}-{character}`, `regen-{message}-{nonce}` (all answering
//! a user message) and `story-{story}`. Both REST and the gateway's `cancel` come through
//! [`stop`]: an unknown job, or one of another conversation, is "not found", and nothing is
//! stored for it.

use db::messages::MessageRow;
use domain::events::ConversationEvent;
use domain::jobs::JobKind;
use domain::{
    CharacterId, ConversationId, ConversationKind, MessageId, MessageRole, MessageStatus, StoryId,
    StoryStatus,
};

use crate::error::{ChatError, Resource};
use crate::{access, messages, Actor, ChatContext};

/// What a job id says it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobRef {
    Reply(MessageId),
    Mention(MessageId, CharacterId),
    Regenerate(MessageId, String),
    Story(StoryId),
}

impl JobRef {
    /// Job ids are at most this long; anything longer is not one of ours.
    const MAX_LEN: usize = 96;

    pub fn parse(job_id: &str) -> Option<JobRef> {
        if job_id.len() > Self::MAX_LEN {
            return None;
        }
        let (kind, rest) = job_id.split_once('-')?;
        let num = |s: &str| s.parse::<i64>().ok().filter(|n| *n > 0);
        match kind {
            "reply" => num(rest).map(|m| JobRef::Reply(MessageId(m))),
            "mention" => {
                let (m, c) = rest.split_once('-')?;
                Some(JobRef::Mention(MessageId(num(m)?), CharacterId(num(c)?)))
            }
            "regen" => {
                let (m, nonce) = rest.split_once('-')?;
                let nonce_ok = !nonce.is_empty()
                    && nonce.len() <= 32
                    && nonce.chars().all(|c| c.is_ascii_hexdigit());
                nonce_ok.then_some(())?;
                Some(JobRef::Regenerate(MessageId(num(m)?), nonce.to_owned()))
            }
            "story" => num(rest).map(|s| JobRef::Story(StoryId(s))),
            _ => None,
        }
    }

    pub fn id(&self) -> String {
        match self {
            JobRef::Reply(m) => format!("reply-{m}"),
            JobRef::Mention(m, c) => format!("mention-{m}-{c}"),
            JobRef::Regenerate(m, nonce) => format!("regen-{m}-{nonce}"),
            JobRef::Story(s) => format!("story-{s}"),
        }
    }

    /// The user message a reply job answers (`None` for stories).
    pub fn trigger(&self) -> Option<MessageId> {
        match self {
            JobRef::Reply(m) | JobRef::Mention(m, _) | JobRef::Regenerate(m, _) => Some(*m),
            JobRef::Story(_) => None,
        }
    }
}

/// Who may stop a reply: the author of the message it answers, and the conversation's owner
/// and admins (in an AI chat the owner is its one user).
fn may_stop_reply(actor: &Actor, role: domain::MemberRole, trigger: &MessageRow) -> bool {
    trigger.author_id == Some(actor.id) || role.can_manage()
}

/// Stops a reply in `conversation_id`: the one named by `job_id`, or else the one streaming.
/// Returns the stopped job's id.
pub async fn stop(
    ctx: &ChatContext,
    actor: &Actor,
    conversation_id: ConversationId,
    job_id: Option<String>,
) -> Result<String, ChatError> {
    let (_, member) = access::member_conversation(ctx, conversation_id, actor.id).await?;
    let job_id = match job_id {
        Some(job_id) => job_id,
        None => {
            let streaming = db::run(&ctx.db, move |c| {
                db::messages::last_assistant_message(c, conversation_id)
            })
            .await?;
            streaming
                .filter(|m| m.status == MessageStatus::Streaming)
                .and_then(|m| m.job_id)
                .ok_or(ChatError::Conflict("no reply is being generated"))?
        }
    };
    let job = JobRef::parse(&job_id)
        .filter(|j| j.trigger().is_some())
        .ok_or(ChatError::NotFound(Resource::Generation))?;
    let (lookup, trigger_id) = (job_id.clone(), job.trigger());
    let (reply, trigger) = db::run(&ctx.db, move |c| {
        let reply = db::messages::find_by_job_id(c, &lookup)?;
        let trigger = match trigger_id {
            Some(id) => match db::messages::find(c, id) {
                Ok(row) => Some(row),
                Err(db::DbError::NotFound) => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        Ok((reply, trigger))
    })
    .await?;
    let trigger = trigger
        .filter(|t| t.conversation_id == conversation_id && t.role == MessageRole::User)
        .filter(|_| {
            reply
                .as_ref()
                .is_none_or(|r| r.conversation_id == conversation_id)
        })
        .ok_or(ChatError::NotFound(Resource::Generation))?;
    if !may_stop_reply(actor, member.role, &trigger) {
        return Err(ChatError::Forbidden(
            "only the author of the message, the owner or an admin may stop this reply",
        ));
    }
    if reply.is_some_and(|r| r.status != MessageStatus::Streaming) {
        return Err(ChatError::Conflict("this reply is already finished"));
    }
    ctx.bus.request_cancel(&job_id).await?;
    Ok(job_id)
}

/// Stops a story being written. Only its owner may; others are told it does not exist.
pub async fn stop_story(
    ctx: &ChatContext,
    actor: &Actor,
    story_id: StoryId,
) -> Result<String, ChatError> {
    let story = db::run(&ctx.db, move |c| db::stories::find(c, story_id))
        .await
        .map_err(|e| match e {
            db::DbError::NotFound => ChatError::NotFound(Resource::Story),
            other => other.into(),
        })?;
    if story.user_id != actor.id {
        return Err(ChatError::NotFound(Resource::Story));
    }
    if !matches!(story.status, StoryStatus::Pending | StoryStatus::Streaming) {
        return Err(ChatError::Conflict("this story is already finished"));
    }
    let job_id = story.job_id.unwrap_or_else(|| JobRef::Story(story_id).id());
    ctx.bus.request_cancel(&job_id).await?;
    Ok(job_id)
}

/// Replaces the last AI reply of an AI chat with a new one: the old reply is removed and a
/// generation answering the same user message is enqueued. Returns its job id.
pub async fn regenerate(
    ctx: &ChatContext,
    actor: &Actor,
    conversation_id: ConversationId,
) -> Result<String, ChatError> {
    let (conversation, _) = access::member_conversation(ctx, conversation_id, actor.id).await?;
    if conversation.kind != ConversationKind::AiChat {
        return Err(ChatError::Conflict(
            "only AI conversations can regenerate replies",
        ));
    }
    // The newest messages decide: the last must be an AI reply that is not still streaming,
    // answering a user message.
    let recent = db::run(&ctx.db, move |c| {
        db::messages::list_page(c, conversation_id, None, None, 20, None)
    })
    .await?;
    let visible: Vec<_> = recent
        .into_iter()
        .filter(|m| m.deleted_at.is_none())
        .collect();
    let last = visible
        .last()
        .ok_or(ChatError::Conflict("nothing to regenerate"))?;
    if last.role != MessageRole::Assistant {
        return Err(ChatError::Conflict("the last message is not an AI reply"));
    }
    if last.status == MessageStatus::Streaming {
        return Err(ChatError::Conflict(
            "a reply is still being generated; stop it first",
        ));
    }
    let trigger = visible
        .iter()
        .rev()
        .find(|m| m.role == MessageRole::User)
        .ok_or(ChatError::Conflict("there is no user message to answer"))?;
    let (old_reply, trigger_id) = (last.id, trigger.id);
    let job_id = JobRef::Regenerate(trigger_id, uuid::Uuid::new_v4().simple().to_string()).id();
    let job = messages::job(
        job_id.clone(),
        JobKind::Regenerate,
        actor.id,
        conversation_id,
        trigger_id,
    );
    // Removing the old reply and storing the new job are one transaction: a regenerate that
    // was accepted is answered even if Redis loses the job (the outbox, issue #14).
    let stored = job.clone();
    db::run(&ctx.db, move |c| {
        db::transaction(c, |c| {
            db::messages::soft_delete(c, old_reply)?;
            db::outbox::insert(c, &stored)?;
            Ok(())
        })
    })
    .await?;
    messages::publish(
        ctx,
        conversation_id,
        ConversationEvent::MessageDeleted {
            conversation_id,
            message_id: old_reply,
        },
    )
    .await?;
    messages::enqueue(ctx, &job).await?;
    Ok(job_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_round_trip_and_strangers_do_not_parse() {
        for job in [
            JobRef::Reply(MessageId(7)),
            JobRef::Mention(MessageId(7), CharacterId(3)),
            JobRef::Regenerate(MessageId(7), "ab12".into()),
            JobRef::Story(StoryId(4)),
        ] {
            assert_eq!(JobRef::parse(&job.id()), Some(job));
        }
        for bad in [
            "",
            "reply-",
            "reply-x",
            "reply--1",
            "reply-0",
            "regen-7-",
            "regen-7-zz",
            "story",
            "other-1",
            "mention-7",
        ] {
            assert_eq!(JobRef::parse(bad), None, "{bad}");
        }
        assert_eq!(JobRef::parse(&format!("reply-{}", "9".repeat(200))), None);
    }
}
