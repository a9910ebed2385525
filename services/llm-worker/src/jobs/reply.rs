//! One reply (or regenerate) job: load what the prompt needs, write a `streaming` placeholder,
//! stream the reply onto the conversation's log, then store it with its token counts and charge
//! the user — every write keyed by the job id, so redelivery never duplicates anything.
//!
//! Events on the conversation log per attempt: `generation.started` (attempt = delivery count),
//! `delta`s, then `message.completed` (the stored message: `complete`, or `cancelled` with the
//! partial text after a stop) or `message.failed`. A redelivered job whose reply is already
//! finished publishes its final event again if the current log epoch lacks it (the first
//! delivery may have died before it did) — at most once per epoch — and is acknowledged.

use std::sync::Arc;
use std::time::Duration;

use bus::{BusError, JobDelivery};
use chrono::Utc;
use db::chat_settings::ChatSettings;
use db::messages::{AssistantReply, MessageRow};
use db::{DbConn, DbError};
use domain::context::ContextReport;
use domain::events::{ConversationEvent, EventPayload, FailureCode, MessageView, Usage};
use domain::lorebook::matcher::CompiledBook;
use domain::lorebook::Lorebook;
use domain::{
    CharacterId, ConversationId, MessageId, MessageRole, MessageStatus, MessageType, UserId,
};
use llm::tokens::Encoding;
use llm::{ChatMessage, ChatModel, ChatRole, LlmError};
use tokio_util::sync::CancellationToken;

use crate::context::{resolve_model, usage_or_estimate, Context, Disposition, InfraError};
use crate::jobs::failure::{next_step, Failure, Next, UpstreamAttempts};
use crate::metrics::Outcome;
use crate::prompt::{self, AuthorNote, BookInput, Budget, Card, Persona, PromptInput, Sampling};
use crate::stream::{Attempt, Outcome as Streamed, Sink};

/// What the database said about a job before generating.
enum Loaded {
    /// The reply exists and is finished (complete, cancelled or failed): a duplicate delivery.
    /// The reply is final already (an earlier delivery stored it): the row and its view.
    Finished(Box<(MessageRow, MessageView)>),
    /// Nothing to answer any more.
    Gone(&'static str),
    /// No model can serve the job.
    NoModel {
        error: LlmError,
        character_id: Option<CharacterId>,
    },
    Ready(Box<Ready>),
}

struct Ready {
    input: PromptInput,
    /// For a continue job, the reply's text so far: what is streamed is appended to it.
    prefix: String,
    model: Arc<dyn ChatModel>,
    model_id: String,
    character_id: Option<CharacterId>,
}

struct JobRef {
    job_id: String,
    conversation: ConversationId,
    trigger: MessageId,
    user: UserId,
    model: Option<String>,
    /// When the job was enqueued: generation latency for the admin roll-ups counts from here.
    enqueued_at: chrono::DateTime<Utc>,
    /// The character to speak as when the job names one (mentions in groups and channels).
    character: Option<CharacterId>,
    /// A continue job: `trigger` is the AI reply to write more onto (issue 15).
    continues: bool,
}

/// The instruction a continue job ends its prompt with, after the reply so far.
const CONTINUE_INSTRUCTION: &str =
    "[Continue your last reply from exactly where it stopped. Do not repeat what you already wrote.]";

fn is_terminal(row: &MessageRow) -> bool {
    row.status != MessageStatus::Streaming
}

/// The history a model sees: live text of people and the character, before the trigger.
/// Deleted messages, system notices, failed/streaming replies (filtered by the query) and
/// cancelled replies that produced nothing are not history.
fn history_messages(rows: &[MessageRow], trigger: MessageId, job_id: &str) -> Vec<ChatMessage> {
    rows.iter()
        .filter(|m| m.id < trigger)
        .filter(|m| m.deleted_at.is_none() && m.message_type != MessageType::System)
        .filter(|m| m.job_id.as_deref() != Some(job_id))
        .filter(|m| !(m.status == MessageStatus::Cancelled && m.content.trim().is_empty()))
        .filter_map(|m| match m.role {
            MessageRole::User => Some(ChatMessage::user(m.content.clone())),
            MessageRole::Assistant => Some(ChatMessage::assistant(m.content.clone())),
            MessageRole::System => None,
        })
        .collect()
}

/// The persona `author` speaks as here: the one locked to the conversation, else their default.
fn load_persona(
    c: &mut DbConn,
    conversation: ConversationId,
    author: UserId,
) -> Result<Option<Persona>, DbError> {
    let row = match db::chat_settings::locked_persona(c, conversation, author)? {
        Some(id) => match db::personas::find(c, id) {
            Ok(p) => Some(p),
            Err(DbError::NotFound) => None,
            Err(e) => return Err(e),
        },
        None => db::personas::default_for(c, author)?,
    };
    Ok(row.map(|p| Persona {
        id: Some(p.id.0),
        name: p.name,
        description: p.description,
    }))
}

/// The lorebooks a prompt scans: the character's own, then those attached to the conversation,
/// compiled once per version (the cache) — a book that does not parse is skipped, not fatal.
fn load_books(
    c: &mut DbConn,
    ctx: &Context,
    conversation: ConversationId,
    character: Option<CharacterId>,
) -> Result<Vec<BookInput>, DbError> {
    let versions = db::lorebooks::versions_for_prompt(c, conversation, character)?;
    let mut books = Vec::with_capacity(versions.len());
    for version in versions {
        let (name, book) = match ctx.caches.books.get(&version) {
            Some(found) => found,
            None => {
                let row = match db::lorebooks::find(c, version.id) {
                    Ok(row) => row,
                    Err(DbError::NotFound) => continue,
                    Err(e) => return Err(e),
                };
                let parsed: Lorebook = match serde_json::from_str(&row.book) {
                    Ok(b) => b,
                    Err(e) => {
                        tracing::warn!(lorebook = %row.id, error = %e, "stored lorebook does not parse; skipped");
                        continue;
                    }
                };
                let compiled = Arc::new(CompiledBook::new(parsed));
                ctx.caches
                    .books
                    .put(version, row.name.clone(), compiled.clone());
                (row.name, compiled)
            }
        };
        books.push(BookInput {
            id: Some(version.id.0),
            name,
            book,
        });
    }
    Ok(books)
}

/// One database round trip: the idempotency check, the history and what the prompt needs
/// (cards, common prompts and names mostly from the caches), and the model.
fn load(c: &mut DbConn, job: &JobRef, ctx: &Context) -> Result<Loaded, DbError> {
    if let Some(existing) = db::messages::find_by_job_id(c, &job.job_id)? {
        if is_terminal(&existing) {
            let view = db::messages::views(c, std::slice::from_ref(&existing))?
                .pop()
                .ok_or(DbError::NotFound)?;
            return Ok(Loaded::Finished(Box::new((existing, view))));
        }
    }
    let rows = db::messages::history(c, job.conversation, ctx.cfg.history_messages)?;
    // The trigger is normally the newest message of the history; read it alone otherwise.
    let trigger = match rows.iter().rev().find(|m| m.id == job.trigger) {
        Some(m) => m.clone(),
        None => match db::messages::find(c, job.trigger) {
            Ok(m) if m.conversation_id == job.conversation && m.deleted_at.is_none() => m,
            Ok(_) | Err(DbError::NotFound) => {
                return Ok(Loaded::Gone("the message to answer was deleted"))
            }
            Err(e) => return Err(e),
        },
    };
    let conversation = job.conversation;
    let own_character = match ctx.caches.conversations.get_or_try(conversation, || {
        db::conversations::find(c, conversation).map(|conv| conv.character_id)
    }) {
        Ok(id) => id,
        Err(DbError::NotFound) => return Ok(Loaded::Gone("the conversation was deleted")),
        Err(e) => return Err(e),
    };
    let character_id = job.character.or(own_character);
    let character = match character_id {
        Some(id) => ctx
            .caches
            .characters
            .get_or_try(id, || match db::characters::find(c, id) {
                Ok(ch) => Ok(Some(Arc::new(ch))),
                Err(DbError::NotFound) => Ok(None),
                Err(e) => Err(e),
            })?,
        None => None,
    };
    let author = trigger.author_id.unwrap_or(job.user);
    // `{{user}}` is the persona's name; without one, the display name, then the username.
    let persona = load_persona(c, conversation, author)?;
    let user_name = match &persona {
        Some(p) => p.name.clone(),
        None => ctx
            .caches
            .user_names
            .get_or_try(author, || match db::users::find(c, author) {
                Ok(u) if !u.display_name.trim().is_empty() => Ok(u.display_name),
                Ok(u) => Ok(u.username),
                Err(DbError::NotFound) => Ok("User".to_owned()),
                Err(e) => Err(e),
            })?,
    };
    let settings = db::chat_settings::find(c, conversation)?
        .map(ChatSettings::from)
        .unwrap_or_default();
    let lorebooks = load_books(c, ctx, conversation, character_id)?;
    let common = ctx.caches.prompts.get_or_try((), || {
        let prompts = db::prompts::list_enabled(c)?;
        Ok::<_, DbError>(Arc::new(prompts.into_iter().map(|p| p.content).collect()))
    })?;
    let preference = character
        .as_ref()
        .and_then(|ch| ch.model_preference.clone());
    // The conversation's choice (checked against the allowed list when it was saved), then the
    // character's preference, then the job's (the deployment default).
    let candidates = [
        settings.model.as_deref(),
        preference.as_deref(),
        job.model.as_deref(),
    ];
    let (model, model_id) = match resolve_model(&ctx.router, &candidates) {
        Ok(resolved) => resolved,
        Err(error) => {
            return Ok(Loaded::NoModel {
                error,
                character_id,
            })
        }
    };
    let mut history = history_messages(&rows, trigger.id, &job.job_id);
    // A continue job answers nothing new: the reply so far is the last turn of the history and
    // the model is asked to go on with it; its text stays the prefix of what is stored.
    let (new_message, prefix) = if job.continues {
        if trigger.role != MessageRole::Assistant {
            return Ok(Loaded::Gone("only an AI reply can be continued"));
        }
        history.push(ChatMessage::assistant(trigger.content.clone()));
        (ChatMessage::user(CONTINUE_INSTRUCTION), trigger.content)
    } else {
        (ChatMessage::user(trigger.content), String::new())
    };
    let user_turns = history.iter().filter(|m| m.role == ChatRole::User).count() + 1;
    let max_tokens = settings
        .max_tokens
        .and_then(|n| u32::try_from(n).ok())
        .filter(|&n| n > 0)
        .map_or(ctx.cfg.max_output_tokens, |n| {
            n.min(ctx.cfg.max_output_tokens)
        });
    let input = PromptInput {
        common: common.as_ref().clone(),
        persona,
        card: character.as_deref().map(Card::from),
        user_name,
        history,
        new_message,
        lorebooks,
        lore_defaults: ctx.cfg.lore_defaults,
        author_note: (!settings.author_note.trim().is_empty()).then(|| AuthorNote {
            text: settings.author_note.clone(),
            depth: u32::try_from(settings.author_note_depth).unwrap_or(0),
            interval: u32::try_from(settings.author_note_interval).unwrap_or(0),
        }),
        user_turns,
        sampling: Sampling {
            temperature: settings.temperature,
            top_p: settings.top_p,
            max_tokens,
        },
    };
    Ok(Loaded::Ready(Box::new(Ready {
        input,
        prefix,
        model,
        model_id,
        character_id,
    })))
}

/// The final state of a reply, written with its charge in one transaction so a crash cannot
/// leave a complete reply uncharged (or charged twice: `charge` is idempotent on the job id).
struct Final {
    status: MessageStatus,
    /// The whole text to store (for a continue job, the earlier text and what was added).
    text: String,
    model: Option<String>,
    usage: Option<Usage>,
    character_id: Option<CharacterId>,
    /// What the model was shown; stored beside the reply in the same transaction.
    report: Option<Arc<ContextReport>>,
}

async fn store_final(ctx: &Context, job: &JobRef, fin: Final) -> Result<MessageView, DbError> {
    let job_id = job.job_id.clone();
    let (conversation, trigger, user) = (job.conversation, job.trigger, job.user);
    let latency_ms = (Utc::now() - job.enqueued_at).num_milliseconds().max(0);
    db::run(&ctx.db, move |c| {
        db::transaction(c, |c| {
            let row = db::messages::upsert_assistant_reply(
                c,
                AssistantReply {
                    conversation_id: conversation,
                    character_id: fin.character_id,
                    job_id: job_id.clone(),
                    reply_to_id: Some(trigger),
                    content: fin.text,
                    status: fin.status,
                    model: fin.model.clone(),
                    prompt_tokens: fin.usage.map(|u| u.prompt_tokens),
                    completion_tokens: fin.usage.map(|u| u.completion_tokens),
                },
            )?;
            if let Some(report) = &fin.report {
                let text = serde_json::to_string(report.as_ref())
                    .map_err(|e| DbError::Encode(format!("context report: {e}")))?;
                db::contexts::put(c, row.id, conversation, &text)?;
            }
            if let (Some(u), Some(model)) = (fin.usage, fin.model.as_deref()) {
                let today = Utc::now().date_naive();
                db::usage::charge(
                    c,
                    &job_id,
                    user,
                    today,
                    model,
                    u.prompt_tokens,
                    u.completion_tokens,
                )?;
            }
            // The admin roll-ups count the generation once per job id, in the same transaction.
            let outcome = match fin.status {
                MessageStatus::Complete => db::stats::GenerationOutcome::Ok,
                MessageStatus::Cancelled => db::stats::GenerationOutcome::Cancelled,
                _ => db::stats::GenerationOutcome::Failed,
            };
            let mut record = db::stats::GenerationRecord::new(
                job_id.clone(),
                user,
                fin.model.as_deref().unwrap_or(""),
                Utc::now().date_naive(),
                outcome,
            );
            record.character_id = fin.character_id;
            record.latency_ms = Some(latency_ms);
            record.prompt_tokens = fin.usage.map_or(0, |u| u.prompt_tokens);
            record.completion_tokens = fin.usage.map_or(0, |u| u.completion_tokens);
            db::stats::record_generation(c, &record)?;
            let mut views = db::messages::views(c, std::slice::from_ref(&row))?;
            views.pop().ok_or(DbError::NotFound)
        })
    })
    .await
}

/// Publishes a job's final event (completed, cancelled or failed) at most once per log epoch,
/// keyed by the job id: a redelivered job whose reply is finished announces it again only if
/// the earlier announcement is not on the log (it died before publishing, or Redis lost the
/// log and started a new epoch), so no reader sees one reply finish twice.
async fn publish_final(
    ctx: &Context,
    conversation: ConversationId,
    job_id: &str,
    event: ConversationEvent,
) -> Result<(), BusError> {
    // The marker must outlive the epoch it guards; an epoch lives while its log does, and the
    // log's TTL is refreshed by activity, so a marker as long as the TTL covers every
    // redelivery (they end with a dead letter within minutes).
    let remember = Duration::from_secs(ctx.bus.config().log_ttl_secs.max(1));
    ctx.bus
        .publish_once(
            conversation,
            &format!("final:{job_id}"),
            &EventPayload::from(event),
            remember,
        )
        .await
        .map(drop)
}

/// Runs a reply job. Never acks itself: it says whether the entry may be acked.
pub async fn run(
    ctx: &Arc<Context>,
    delivery: &JobDelivery,
    cancel: &CancellationToken,
    lost: &CancellationToken,
) -> Disposition {
    match try_run(ctx, delivery, cancel, lost).await {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "job failed on our side; leaving it for redelivery");
            Disposition::keep(Outcome::Error)
        }
    }
}

async fn try_run(
    ctx: &Arc<Context>,
    delivery: &JobDelivery,
    cancel: &CancellationToken,
    lost: &CancellationToken,
) -> Result<Disposition, InfraError> {
    let job = &delivery.job;
    let (Some(conversation), Some(trigger)) = (job.conversation_id, job.trigger_message_id) else {
        tracing::warn!("reply job without a conversation or trigger message; dropping it");
        return Ok(Disposition::ack(Outcome::Skipped));
    };
    let job = Arc::new(JobRef {
        job_id: job.job_id.clone(),
        conversation,
        trigger,
        user: job.user_id,
        model: job.model.clone(),
        enqueued_at: job.enqueued_at,
        character: job.character_id,
        continues: job.kind == domain::jobs::JobKind::Continue,
    });

    // The stop flag and the database load are independent round trips: run them together.
    let loading = {
        let (job, shared) = (job.clone(), ctx.clone());
        db::run(&ctx.db, move |c| load(c, &job, &shared))
    };
    let (flagged, loaded) = tokio::join!(ctx.bus.is_cancelled(&job.job_id), loading);
    let ready = match loaded? {
        Loaded::Finished(finished) => {
            let (row, view) = *finished;
            tracing::info!(status = %row.status, "reply already finished; announcing it again");
            ensure_charged(ctx, &job, &row).await?;
            announce_final(ctx, &job, &row, view).await?;
            return Ok(Disposition::ack(Outcome::Duplicate));
        }
        Loaded::Gone(why) => {
            tracing::info!(why, "nothing to answer; dropping the job");
            return Ok(Disposition::ack(Outcome::Skipped));
        }
        Loaded::NoModel {
            error,
            character_id,
        } => {
            tracing::warn!(error = %error, "no model can serve this job");
            let failure = Failure::from_llm(&error);
            return fail(ctx, &job, String::new(), None, character_id, &failure).await;
        }
        Loaded::Ready(ready) => ready,
    };
    if flagged? {
        cancel.cancel();
    }
    let Ready {
        input,
        prefix,
        model,
        model_id,
        character_id,
    } = *ready;

    let budget = prompt::budget_for(
        &model_id,
        input.sampling.max_tokens,
        ctx.cfg.max_prompt_tokens,
    );
    // Counting tokens is CPU work (a real tokenizer, hundreds of messages): off the async
    // threads, in the caller's span.
    let building = {
        let (shared, model_id) = (ctx.clone(), model_id.clone());
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            prompt::build(
                &input,
                &Budget {
                    model_id: &model_id,
                    encoding: Encoding::for_model(&model_id),
                    counter: &shared.caches.tokens,
                    prompt_tokens: budget,
                },
            )
        })
    };
    let mut built = match building.await {
        Ok(built) => built,
        Err(e) => {
            tracing::error!(error = %e, "the prompt builder panicked");
            return Ok(Disposition::keep(Outcome::Error));
        }
    };
    let attempts =
        UpstreamAttempts::new(ctx.bus.clone(), &job.job_id, ctx.cfg.max_upstream_attempts);
    built.request.attempts = Some(attempts.gate());
    if built.report.history.dropped > 0 || built.report.examples_dropped > 0 {
        tracing::debug!(
            dropped_history = built.report.history.dropped,
            dropped_examples = built.report.examples_dropped,
            budget,
            "trimmed the prompt to the context budget"
        );
    }
    let prompt_estimate = built.prompt_tokens();
    let report = Arc::new(built.report.clone());

    let sink = Sink::Conversation(conversation);
    let attempt = Attempt {
        bus: &ctx.bus,
        sink,
        job_id: &job.job_id,
        model_id: &model_id,
        attempt: delivery.deliveries,
        coalesce: ctx.cfg.coalesce,
        cancel,
        lost,
    };
    // Off the critical path, beside the provider request: the `streaming` placeholder (so a stop
    // request can find the job from the conversation) and `generation.started`. Both finish
    // before the first delta is published, and before any final write.
    let placeholder = {
        let (job, model_id) = (job.clone(), model_id.clone());
        let placeholder_text = prefix.clone();
        db::run(&ctx.db, move |c| {
            db::messages::upsert_assistant_reply(
                c,
                AssistantReply {
                    conversation_id: job.conversation,
                    character_id,
                    job_id: job.job_id.clone(),
                    reply_to_id: Some(job.trigger),
                    content: placeholder_text,
                    status: MessageStatus::Streaming,
                    model: Some(model_id),
                    prompt_tokens: None,
                    completion_tokens: None,
                },
            )
        })
    };
    let started = sink.started(
        &ctx.bus,
        &job.job_id,
        delivery.deliveries,
        &model_id,
        character_id,
    );
    let announce = async {
        let (stored, published) = tokio::join!(placeholder, started);
        stored?;
        published?;
        Ok::<(), InfraError>(())
    };
    match attempt.run(model, built.request, announce).await? {
        Streamed::Done { text, model, .. } if text.trim().is_empty() => {
            // Nothing to show and nothing to charge: a failure, whatever the provider billed.
            tracing::warn!(model, "provider returned an empty reply");
            let failure = Failure::empty_reply();
            fail(ctx, &job, text, Some(model), character_id, &failure).await
        }
        Streamed::Done { text, usage, model } => {
            let usage = usage_or_estimate(Some(usage), prompt_estimate, &text);
            let fin = Final {
                status: MessageStatus::Complete,
                text: format!("{prefix}{text}"),
                model: Some(model),
                usage: Some(usage),
                character_id,
                report: Some(report.clone()),
            };
            let message = store_final(ctx, &job, fin).await?;
            publish_final(
                ctx,
                conversation,
                &job.job_id,
                ConversationEvent::Completed {
                    job_id: job.job_id.clone(),
                    message,
                    usage,
                },
            )
            .await?;
            Ok(Disposition::ack(Outcome::Completed))
        }
        Streamed::Cancelled { text } => {
            // The provider bills what it generated before the stop; it reports no usage for a
            // cut stream, so the charge is the estimate. Nothing generated, nothing charged.
            let usage = (!text.is_empty()).then(|| usage_or_estimate(None, prompt_estimate, &text));
            let fin = Final {
                // A continued reply stopped midway is still a whole reply with more text.
                status: if job.continues {
                    MessageStatus::Complete
                } else {
                    MessageStatus::Cancelled
                },
                text: format!("{prefix}{text}"),
                model: Some(model_id),
                usage,
                character_id,
                report: Some(report.clone()),
            };
            let message = store_final(ctx, &job, fin).await?;
            publish_final(
                ctx,
                conversation,
                &job.job_id,
                ConversationEvent::Completed {
                    job_id: job.job_id.clone(),
                    message,
                    usage: usage.unwrap_or_default(),
                },
            )
            .await?;
            tracing::info!("stopped on request; partial reply stored as cancelled");
            Ok(Disposition::ack(Outcome::Cancelled))
        }
        Streamed::Abandoned => Ok(Disposition::keep(Outcome::Abandoned)),
        Streamed::Failed { text, error } => {
            tracing::warn!(error = %error, kind = error.kind(), "provider failed");
            match next_step(&ctx.cfg, &attempts, &error, !text.is_empty()) {
                Next::Fail(failure) => {
                    fail(ctx, &job, text, Some(model_id), character_id, &failure).await
                }
                Next::RetryAfter(wait) => {
                    ctx.bus.schedule_job(&delivery.job, wait).await?;
                    tracing::info!(?wait, "retry scheduled");
                    Ok(Disposition::ack(Outcome::Scheduled))
                }
                Next::Redeliver => Ok(Disposition::keep(Outcome::Retry)),
            }
        }
    }
}

/// A failure the user hears of now: the reply is stored as failed (never charged), clients get
/// `message.failed` with its reason.
async fn fail(
    ctx: &Context,
    job: &JobRef,
    text: String,
    model: Option<String>,
    character_id: Option<CharacterId>,
    failure: &Failure,
) -> Result<Disposition, InfraError> {
    // A continue that failed leaves the reply as it was before (its text is read back from the
    // row, which the placeholder wrote with the earlier text); the client hears of the failure.
    let (status, text) = if job.continues {
        let id = job.trigger;
        let before = db::run(&ctx.db, move |c| db::messages::find(c, id)).await?;
        (MessageStatus::Complete, before.content)
    } else {
        (MessageStatus::Failed, text)
    };
    let fin = Final {
        status,
        text,
        model,
        usage: None,
        character_id,
        report: None,
    };
    store_final(ctx, job, fin).await?;
    publish_final(
        ctx,
        job.conversation,
        &job.job_id,
        ConversationEvent::Failed {
            job_id: job.job_id.clone(),
            reason: failure.reason.clone(),
            retryable: failure.retryable,
            code: Some(failure.code),
        },
    )
    .await?;
    Ok(Disposition::ack(Outcome::Failed))
}

/// A finished reply found again: publish its final event again unless it is on the log of the
/// current epoch already ([`publish_final`]). The earlier delivery may have stored the reply and
/// died (or lost Redis) before publishing, and clients following the stream would wait for an
/// end that never comes; but when it did publish, a second copy would be a second announcement.
async fn announce_final(
    ctx: &Context,
    job: &JobRef,
    row: &MessageRow,
    message: MessageView,
) -> Result<(), BusError> {
    let event = match row.status {
        MessageStatus::Failed => ConversationEvent::Failed {
            job_id: job.job_id.clone(),
            reason: "The reply could not be generated.".to_owned(),
            retryable: false,
            // Why is not stored with the message: an older delivery said so the first time.
            code: None,
        },
        _ => ConversationEvent::Completed {
            job_id: job.job_id.clone(),
            message,
            usage: Usage {
                prompt_tokens: row.prompt_tokens.unwrap_or(0),
                completion_tokens: row.completion_tokens.unwrap_or(0),
                cached_prompt_tokens: 0,
            },
        },
    };
    publish_final(ctx, job.conversation, &job.job_id, event).await
}

/// A finished reply found again: make sure it was charged (a no-op when it was), for the case
/// where an earlier delivery stored it but died before charging.
async fn ensure_charged(ctx: &Context, job: &JobRef, row: &MessageRow) -> Result<(), DbError> {
    let (Some(prompt), Some(completion), Some(model)) =
        (row.prompt_tokens, row.completion_tokens, row.model.clone())
    else {
        return Ok(());
    };
    let (job_id, user) = (job.job_id.clone(), job.user);
    db::run(&ctx.db, move |c| {
        db::usage::charge(
            c,
            &job_id,
            user,
            Utc::now().date_naive(),
            &model,
            prompt,
            completion,
        )
    })
    .await
    .map(drop)
}

/// A job the reclaimer dead-lettered: mark its reply failed (unless it finished after all) and
/// tell the conversation.
pub async fn report_dead(
    ctx: &Context,
    job_id: &str,
    conversation: ConversationId,
    trigger: Option<MessageId>,
    continues: bool,
    deliveries: u32,
) -> Result<(), InfraError> {
    let id = job_id.to_owned();
    let marked = db::run(&ctx.db, move |c| {
        let existing = db::messages::find_by_job_id(c, &id)?;
        if existing.as_ref().is_some_and(is_terminal) {
            return Ok(false);
        }
        let character_id = match db::conversations::find(c, conversation) {
            Ok(conv) => conv.character_id,
            Err(DbError::NotFound) => return Ok(false),
            Err(e) => return Err(e),
        };
        db::messages::upsert_assistant_reply(
            c,
            AssistantReply {
                conversation_id: conversation,
                character_id,
                job_id: id.clone(),
                reply_to_id: trigger.or(existing.as_ref().and_then(|r| r.reply_to_id)),
                content: existing
                    .as_ref()
                    .map(|r| r.content.clone())
                    .unwrap_or_default(),
                // A continue given up on leaves the reply whole, as it was.
                status: if continues {
                    MessageStatus::Complete
                } else {
                    MessageStatus::Failed
                },
                model: existing.and_then(|r| r.model),
                prompt_tokens: None,
                completion_tokens: None,
            },
        )?;
        Ok(true)
    })
    .await?;
    if marked {
        publish_final(
            ctx,
            conversation,
            job_id,
            ConversationEvent::Failed {
                job_id: job_id.to_owned(),
                reason: format!(
                    "The AI provider could not answer after {deliveries} attempts. Please try again."
                ),
                // The cause was transient (only retryable failures are redelivered): asking
                // again may well work.
                retryable: true,
                code: Some(FailureCode::Unavailable),
            },
        )
        .await?;
    }
    Ok(())
}
