//! The inbox (issue 19): who is notified of what, and reading it. A notification is stored
//! first and then announced live on the person's user channel (`notification.created`); the
//! announcement is best effort, the inbox is what counts.
//!
//! Rules: a mention notifies the mentioned member (`@everyone` from an owner or admin: every
//! member); a thread reply notifies the root's author; a DM notifies the other person only
//! while they have no open socket; a friend request notifies the addressee. Never oneself, and
//! never across a block (either way).

use std::collections::BTreeSet;

use db::notifications::NewNotification;
use domain::events::{MessageView, UserEvent};
use domain::notifications::{NotificationKind, NotificationView};
use domain::{ConversationId, ConversationKind, UserId, ValidationError};

use crate::error::ChatError;
use crate::{Actor, ChatContext};

/// `@everyone` reaches at most this many people: a bound on one send's writes.
const EVERYONE_LIMIT: usize = 1000;

/// Stores and announces one notification per recipient.
async fn deliver(
    ctx: &ChatContext,
    recipients: Vec<(UserId, NotificationKind)>,
    actor: UserId,
    conversation: Option<ConversationId>,
    message: Option<domain::MessageId>,
) -> Result<(), ChatError> {
    if recipients.is_empty() {
        return Ok(());
    }
    let views = db::run(&ctx.db, move |c| {
        let mut rows = Vec::new();
        for (user, kind) in recipients {
            if user == actor || db::blocks::is_blocked_either_way(c, actor, user)? {
                continue;
            }
            let new = NewNotification {
                user,
                kind,
                actor: Some(actor),
                conversation,
                message,
            };
            rows.push(db::notifications::insert(c, new)?);
        }
        db::notifications::views(c, &rows).map(|v| {
            rows.iter()
                .map(|r| UserId(r.user_id))
                .zip(v)
                .collect::<Vec<_>>()
        })
    })
    .await?;
    for (user, notification) in views {
        let event = UserEvent::NotificationCreated { notification };
        if let Err(e) = ctx.bus.publish_user(user, &event).await {
            tracing::warn!(error = %e, %user, "notification.created not announced");
        }
    }
    Ok(())
}

/// After a new message is stored and published: mentions, the thread root's author, and in a
/// DM the other person if they are away.
pub(crate) async fn on_message(
    ctx: &ChatContext,
    kind: ConversationKind,
    message: &MessageView,
    thread_root_author: Option<UserId>,
) -> Result<(), ChatError> {
    let Some(author) = message.author_id else {
        return Ok(());
    };
    let conversation = message.conversation_id;
    let mut mentioned: BTreeSet<UserId> = message.mentions.iter().copied().collect();
    if message.mention_everyone {
        let all = db::run(&ctx.db, move |c| {
            let found = db::conversations::find(c, conversation)?;
            match (found.kind, found.server_id) {
                (ConversationKind::Channel, Some(server)) => {
                    Ok(db::servers::list_members(c, server)?
                        .into_iter()
                        .map(|(m, _)| m.user_id)
                        .collect::<Vec<_>>())
                }
                _ => db::members::active_user_ids(c, conversation),
            }
        })
        .await?;
        mentioned.extend(all.into_iter().take(EVERYONE_LIMIT));
    }
    let mut recipients: Vec<(UserId, NotificationKind)> = mentioned
        .iter()
        .map(|u| (*u, NotificationKind::Mention))
        .collect();
    if let Some(root_author) = thread_root_author.filter(|a| !mentioned.contains(a)) {
        recipients.push((root_author, NotificationKind::ThreadReply));
    }
    // A muted conversation still lets a direct @mention through; the rest stays quiet.
    let direct: BTreeSet<UserId> = message.mentions.iter().copied().collect();
    let muted = db::run(&ctx.db, move |c| db::mutes::muted_now(c, conversation)).await?;
    recipients.retain(|(user, kind)| {
        !muted.contains(user) || (*kind == NotificationKind::Mention && direct.contains(user))
    });
    if kind == ConversationKind::Direct {
        let others = db::run(&ctx.db, move |c| {
            db::members::active_user_ids(c, conversation)
        })
        .await?;
        for other in others.into_iter().filter(|o| *o != author) {
            if !muted.contains(&other)
                && !mentioned.contains(&other)
                && !ctx.bus.is_online(other).await?
            {
                recipients.push((other, NotificationKind::DirectMessage));
            }
        }
    }
    deliver(
        ctx,
        recipients,
        author,
        Some(conversation),
        Some(message.id),
    )
    .await
}

/// A friend request from `from` to `to` (the request is already stored).
pub async fn on_friend_request(
    ctx: &ChatContext,
    from: UserId,
    to: UserId,
) -> Result<(), ChatError> {
    deliver(
        ctx,
        vec![(to, NotificationKind::FriendRequest)],
        from,
        None,
        None,
    )
    .await
}

/// A page of the actor's inbox.
#[derive(Debug, Clone)]
pub struct Inbox {
    pub items: Vec<NotificationView>,
    pub unread_count: i64,
    pub has_more: bool,
}

pub async fn list(
    ctx: &ChatContext,
    actor: &Actor,
    before: Option<i64>,
    limit: i64,
) -> Result<Inbox, ChatError> {
    let me = actor.id;
    Ok(db::run(&ctx.db, move |c| {
        let mut rows = db::notifications::list(c, me, before, limit + 1)?;
        let has_more = rows.len() as i64 > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(0));
        Ok(Inbox {
            items: db::notifications::views(c, &rows)?,
            unread_count: db::notifications::unread_count(c, me)?,
            has_more,
        })
    })
    .await?)
}

pub async fn unread_count(ctx: &ChatContext, actor: &Actor) -> Result<i64, ChatError> {
    let me = actor.id;
    Ok(db::run(&ctx.db, move |c| db::notifications::unread_count(c, me)).await?)
}

/// Marks the actor's notifications read: `ids` (at most 100; others' ids change nothing), or
/// all of them. Returns how many changed.
pub async fn mark_read(
    ctx: &ChatContext,
    actor: &Actor,
    ids: Option<Vec<i64>>,
) -> Result<usize, ChatError> {
    if ids
        .as_ref()
        .is_some_and(|ids| ids.is_empty() || ids.len() > 100)
    {
        return Err(ValidationError::new("ids", "must list 1 to 100 notification ids").into());
    }
    let me = actor.id;
    Ok(db::run(&ctx.db, move |c| {
        db::notifications::mark_read(c, me, ids.as_deref())
    })
    .await?)
}
