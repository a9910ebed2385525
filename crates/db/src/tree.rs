//! A conversation as a tree of turns (issue 15). Each message has a parent (`None` for the first
//! turns); the children of one parent with the same role — and, for AI turns, the same
//! character — are *siblings*: the variants of an AI turn (regenerate, greetings) or the
//! branches an edit-and-rerun started. `on_path` marks the active path, which every ordinary
//! read ([`crate::messages::list_page`], [`crate::messages::history`]) filters on; this module
//! moves it.

use std::collections::{HashMap, HashSet};

use diesel::dsl::max;
use diesel::prelude::*;
use domain::events::{ForkInfo, MessageView};
use domain::{ConversationId, MessageId, MessageRole, MessageStatus};

use crate::messages::MessageRow;
use crate::schema::messages;
use crate::{DbConn, DbError};

/// SQLite's bound-parameter limit is far above this; PostgreSQL's is 65535.
const CHUNK: usize = 1000;

/// The last message of the active path, the parent of the next one sent.
pub fn leaf(conn: &mut DbConn, conversation: ConversationId) -> Result<Option<MessageId>, DbError> {
    let id: Option<i64> = messages::table
        .filter(messages::conversation_id.eq(conversation.0))
        .filter(messages::on_path.eq(true))
        .select(max(messages::id))
        .first(conn)?;
    Ok(id.map(MessageId))
}

/// Whether a reply on the active path is still being written (the path may not move under it).
pub fn streaming_on_path(conn: &mut DbConn, conversation: ConversationId) -> Result<bool, DbError> {
    let n: i64 = messages::table
        .filter(messages::conversation_id.eq(conversation.0))
        .filter(messages::on_path.eq(true))
        .filter(messages::deleted_at.is_null())
        .filter(messages::status.eq(MessageStatus::Streaming.as_str()))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// The live alternatives of `message`, itself included when live, oldest first.
pub fn siblings(conn: &mut DbConn, message: &MessageRow) -> Result<Vec<MessageRow>, DbError> {
    let mut query = messages::table
        .filter(messages::conversation_id.eq(message.conversation_id.0))
        // Thread replies (issue 19) are nobody's alternatives.
        .filter(messages::thread_root_id.is_null())
        .filter(messages::role.eq(message.role.as_str()))
        .filter(messages::deleted_at.is_null())
        .order(messages::id.asc())
        .select(MessageRow::as_select())
        .into_boxed();
    query = match message.parent_id {
        Some(p) => query.filter(messages::parent_id.eq(p.0)),
        None => query.filter(messages::parent_id.is_null()),
    };
    if message.role == MessageRole::Assistant {
        query = match message.character_id {
            Some(c) => query.filter(messages::character_id.eq(c.0)),
            None => query.filter(messages::character_id.is_null()),
        };
    }
    Ok(query.load(conn)?)
}

/// `(id, parent)` of every message of the conversation from `from` on: enough to walk subtrees
/// (children are always newer than their parent).
fn links_from(
    conn: &mut DbConn,
    conversation: ConversationId,
    from: i64,
) -> Result<Vec<(i64, Option<i64>, bool)>, DbError> {
    let rows: Vec<(i64, Option<i64>, Option<chrono::NaiveDateTime>)> = messages::table
        .filter(messages::conversation_id.eq(conversation.0))
        .filter(messages::id.ge(from))
        .order(messages::id.asc())
        .select((messages::id, messages::parent_id, messages::deleted_at))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, parent, deleted)| (id, parent, deleted.is_none()))
        .collect())
}

fn set_on_path(conn: &mut DbConn, ids: &[i64], on_path: bool) -> Result<(), DbError> {
    for chunk in ids.chunks(CHUNK) {
        diesel::update(messages::table.filter(messages::id.eq_any(chunk)))
            .set(messages::on_path.eq(on_path))
            .execute(conn)?;
    }
    Ok(())
}

/// Puts `to` on the active path in place of its siblings: each sibling and everything below it
/// leaves the path; `to` and, below it, the newest live child at each step join it. Call it in
/// a transaction. Returns the new last message of the path.
pub fn switch_to(conn: &mut DbConn, to: &MessageRow) -> Result<MessageId, DbError> {
    let group = siblings(conn, to)?;
    let from = group
        .iter()
        .map(|m| m.id.0)
        .min()
        .unwrap_or(to.id.0)
        .min(to.id.0);
    let links = links_from(conn, to.conversation_id, from)?;
    let mut children: HashMap<i64, Vec<(i64, bool)>> = HashMap::new();
    for (id, parent, live) in &links {
        if let Some(p) = parent {
            children.entry(*p).or_default().push((*id, *live));
        }
    }
    let mut off = Vec::new();
    let mut stack: Vec<i64> = group
        .iter()
        .map(|m| m.id.0)
        .filter(|id| *id != to.id.0)
        .collect();
    while let Some(id) = stack.pop() {
        off.push(id);
        stack.extend(children.get(&id).into_iter().flatten().map(|(c, _)| *c));
    }
    let mut on = vec![to.id.0];
    let mut cur = to.id.0;
    let mut seen = HashSet::from([cur]);
    while let Some(next) = children
        .get(&cur)
        .and_then(|kids| kids.iter().filter(|(_, live)| *live).map(|(c, _)| *c).max())
    {
        if !seen.insert(next) {
            break;
        }
        on.push(next);
        cur = next;
    }
    set_on_path(conn, &off, false)?;
    set_on_path(conn, &on, true)?;
    Ok(MessageId(cur))
}

/// The path from the conversation's first turn down to `message`, oldest first.
pub fn path_to(conn: &mut DbConn, message: &MessageRow) -> Result<Vec<MessageRow>, DbError> {
    let links: Vec<(i64, Option<i64>)> = messages::table
        .filter(messages::conversation_id.eq(message.conversation_id.0))
        .filter(messages::id.le(message.id.0))
        .select((messages::id, messages::parent_id))
        .load(conn)?;
    let parents: HashMap<i64, Option<i64>> = links.into_iter().collect();
    let mut ids = vec![message.id.0];
    let mut cur = message.parent_id.map(|p| p.0);
    while let Some(id) = cur {
        if ids.contains(&id) {
            break;
        }
        ids.push(id);
        cur = parents.get(&id).copied().flatten();
    }
    ids.reverse();
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let part: Vec<MessageRow> = messages::table
            .filter(messages::id.eq_any(chunk))
            .order(messages::id.asc())
            .select(MessageRow::as_select())
            .load(conn)?;
        rows.extend(part);
    }
    Ok(rows)
}

/// Fills in [`MessageView::fork`] for messages that have live siblings. `assistant_only`: in
/// groups and channels only AI turns have variants (people's messages are never alternatives).
pub fn annotate_forks(
    conn: &mut DbConn,
    conversation: ConversationId,
    views: &mut [MessageView],
    assistant_only: bool,
) -> Result<(), DbError> {
    let parents: Vec<i64> = views
        .iter()
        .filter_map(|v| v.parent_id.map(|p| p.0))
        .collect();
    let has_root = views.iter().any(|v| v.parent_id.is_none());
    if views.is_empty() {
        return Ok(());
    }
    type Link = (i64, Option<i64>, String, Option<i64>);
    let mut candidates: Vec<Link> = Vec::new();
    let base = || {
        messages::table
            .filter(messages::conversation_id.eq(conversation.0))
            .filter(messages::deleted_at.is_null())
            .filter(messages::thread_root_id.is_null())
            .select((
                messages::id,
                messages::parent_id,
                messages::role,
                messages::character_id,
            ))
    };
    for chunk in parents.chunks(CHUNK) {
        candidates.extend(
            base()
                .filter(messages::parent_id.eq_any(chunk))
                .load::<Link>(conn)?,
        );
    }
    if has_root {
        candidates.extend(
            base()
                .filter(messages::parent_id.is_null())
                .load::<Link>(conn)?,
        );
    }
    let mut groups: HashMap<(Option<i64>, String, Option<i64>), Vec<i64>> = HashMap::new();
    for (id, parent, role, character) in candidates {
        let character = (role == MessageRole::Assistant.as_str())
            .then_some(character)
            .flatten();
        groups
            .entry((parent, role, character))
            .or_default()
            .push(id);
    }
    for ids in groups.values_mut() {
        ids.sort_unstable();
        ids.dedup();
    }
    for view in views.iter_mut() {
        if view.deleted_at.is_some() || (assistant_only && view.role != MessageRole::Assistant) {
            continue;
        }
        let character = (view.role == MessageRole::Assistant)
            .then_some(view.character_id.map(|c| c.0))
            .flatten();
        let key = (
            view.parent_id.map(|p| p.0),
            view.role.as_str().to_owned(),
            character,
        );
        if let Some(ids) = groups.get(&key).filter(|ids| ids.len() > 1) {
            if let Some(index) = ids.iter().position(|id| *id == view.id.0) {
                view.fork = Some(ForkInfo {
                    index: index as u32,
                    count: ids.len() as u32,
                });
            }
        }
    }
    Ok(())
}
