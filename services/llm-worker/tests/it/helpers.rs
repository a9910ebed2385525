//! A worker against a real database and redis-server, a seeded AI conversation, jobs enqueued
//! the way api-service enqueues them, and readers of what the worker published.

use std::time::{Duration, Instant};

use bus::Bus;
use chrono::Utc;
use db::characters::{CharacterRow, NewCharacterRow};
use db::conversations::NewConversationRow;
use db::messages::{MessageRow, NewMessageRow};
use db::DbPool;
use domain::events::{ConversationEvent, EventPayload};
use domain::jobs::{JobKind, LlmJob, JOB_VERSION};
use domain::{
    ConversationId, ConversationKind, MemberRole, MessageId, MessageRole, MessageStatus,
    MessageType, UserId,
};
use llm_worker::{CancellationToken, Worker};
use platform::Settings;
use testkit::providers::{FakeProvider, ProviderKind};
use testkit::services::{Backend, TestEnv};
use tokio::task::JoinHandle;

pub struct Harness {
    pub env: TestEnv,
    pub db: DbPool,
    pub bus: Bus,
    pub user: UserId,
    pub character: CharacterRow,
    pub conversation: ConversationId,
}

/// Settings for fast tests: no provider retries, quick reclaim, short timeouts.
pub fn fast(settings: &mut Settings) {
    let llm = &mut settings.llm;
    llm.mock_tokens_per_sec = 0;
    llm.max_retries = 0;
    llm.reclaim_idle_ms = 600;
    llm.reclaim_interval_ms = 100;
    llm.delta_coalesce_ms = 30;
    llm.connect_timeout_secs = 2;
    llm.first_token_timeout_secs = 5;
    llm.idle_timeout_secs = 5;
}

/// Points the settings at a fake provider and makes its model the default.
pub fn use_fake(settings: &mut Settings, fake: &FakeProvider) {
    let llm = &mut settings.llm;
    match fake.kind() {
        ProviderKind::OpenAi => {
            llm.openai_api_key = "sk-test".into();
            llm.openai_base_url = fake.base_url();
            llm.default_model = "openai/gpt-4o-mini".into();
        }
        ProviderKind::Anthropic => {
            llm.anthropic_api_key = "ak-test".into();
            llm.anthropic_base_url = fake.base_url();
            llm.default_model = "anthropic/claude-3-5-haiku-latest".into();
        }
        ProviderKind::Gemini => {
            llm.gemini_api_key = "gk-test".into();
            llm.gemini_base_url = fake.base_url();
            llm.default_model = "gemini/gemini-1.5-flash".into();
        }
    }
}

pub fn ada() -> NewCharacterRow {
    let mut c = NewCharacterRow::new(UserId(0), "Ada");
    c.description = "{{char}} is a cheerful inventor who adores {{user}}.".into();
    c.personality = "curious, kind".into();
    c.scenario = "Ada's workshop.".into();
    c.system_prompt = "You are {{char}}. Reply in character.".into();
    c.example_dialogue = "<START>\n{{user}}: hi\n{{char}}: Hello, friend!".into();
    c.post_history_instructions = "Keep replies short.".into();
    c
}

impl Harness {
    /// A fresh database and Redis prefix with Alice, the character Ada and Alice's AI chat.
    pub async fn new(backend: Backend) -> Harness {
        Self::with_character(backend, ada()).await
    }

    pub async fn with_character(backend: Backend, mut character: NewCharacterRow) -> Harness {
        let mut env = TestEnv::new(backend).await;
        fast(&mut env.settings);
        let (db, bus) = platform::connect(&env.settings).await.unwrap();
        let (user, character, conversation) = db::run(&db, move |c| {
            let mut alice = db::users::NewUserRow::new("alice", "alice@example.com", "x");
            alice.display_name = "Alice".into();
            let user = db::users::insert(c, alice)?;
            character.owner_id = user.id;
            let character = db::characters::insert(c, character)?;
            let mut conv = NewConversationRow::new(ConversationKind::AiChat, Some(user.id));
            conv.character_id = Some(character.id);
            let conv =
                db::conversations::insert_with_members(c, conv, &[(user.id, MemberRole::Owner)])?;
            Ok((user.id, character, conv.id))
        })
        .await
        .unwrap();
        Harness {
            env,
            db,
            bus,
            user,
            character,
            conversation,
        }
    }

    pub fn settings(&self) -> Settings {
        self.env.settings.clone()
    }

    /// Stores Alice's message as api-service does (no job).
    pub async fn user_message(&self, text: &str) -> MessageRow {
        let (conv, user, text) = (self.conversation, self.user, text.to_owned());
        db::run(&self.db, move |c| {
            db::messages::insert(c, NewMessageRow::user(conv, user, &text))
        })
        .await
        .unwrap()
    }

    /// Stores a finished AI reply (history), with a status.
    pub async fn ai_message(&self, text: &str, status: MessageStatus) -> MessageRow {
        let (conv, character, text) = (self.conversation, self.character.id, text.to_owned());
        db::run(&self.db, move |c| {
            db::messages::insert(
                c,
                NewMessageRow {
                    conversation_id: conv,
                    author_id: None,
                    character_id: Some(character),
                    role: MessageRole::Assistant,
                    message_type: MessageType::Text,
                    content: text,
                    metadata: "{}".into(),
                    reply_to_id: None,
                    status,
                    job_id: None,
                    client_id: None,
                    prompt_tokens: None,
                    completion_tokens: None,
                    model: None,
                },
            )
        })
        .await
        .unwrap()
    }

    pub fn reply_job(&self, trigger: MessageId) -> LlmJob {
        LlmJob {
            v: JOB_VERSION,
            job_id: format!("reply-{trigger}"),
            kind: JobKind::Reply,
            user_id: self.user,
            conversation_id: Some(self.conversation),
            trigger_message_id: Some(trigger),
            story_id: None,
            model: None,
            enqueued_at: Utc::now(),
            character_id: None,
        }
    }

    /// Alice sends `text`: her message is stored and its reply job enqueued. Returns the job.
    pub async fn send(&self, text: &str) -> LlmJob {
        let message = self.user_message(text).await;
        let job = self.reply_job(message.id);
        self.bus.enqueue_job(&job).await.unwrap();
        job
    }

    /// Starts a worker with these settings on its own task.
    pub fn start_worker(&self, settings: &Settings) -> RunningWorker {
        let worker = Worker::build(settings, self.db.clone(), self.bus.clone()).unwrap();
        let stop = CancellationToken::new();
        let task = tokio::spawn(worker.run(stop.clone()));
        RunningWorker { stop, task }
    }

    /// Every event on the conversation's log so far, in order.
    pub async fn events(&self) -> Vec<ConversationEvent> {
        let recovery = self
            .bus
            .read_since(self.conversation, None, 0, 100_000)
            .await
            .unwrap();
        recovery
            .entries
            .iter()
            .map(|e| e.decode().unwrap().event)
            .collect()
    }

    /// Waits until an event satisfies `done`; returns all events up to then.
    pub async fn wait_for(
        &self,
        what: &str,
        limit: Duration,
        done: impl Fn(&ConversationEvent) -> bool,
    ) -> Vec<ConversationEvent> {
        self.wait_events(what, limit, |events| events.iter().any(&done))
            .await
    }

    /// Waits until the events so far satisfy `done`.
    pub async fn wait_events(
        &self,
        what: &str,
        limit: Duration,
        done: impl Fn(&[ConversationEvent]) -> bool,
    ) -> Vec<ConversationEvent> {
        let started = Instant::now();
        loop {
            let events = self.events().await;
            if done(&events) {
                return events;
            }
            assert!(
                started.elapsed() < limit,
                "timed out waiting for {what}; events so far: {events:#?}"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Waits for the job's `message.completed` or `message.failed`.
    pub async fn wait_finished(&self, job_id: &str) -> Vec<ConversationEvent> {
        self.wait_for("the job to finish", Duration::from_secs(20), |e| {
            matches!(e, ConversationEvent::Completed { job_id: j, .. } | ConversationEvent::Failed { job_id: j, .. } if j == job_id)
        })
        .await
    }

    pub async fn reply(&self, job_id: &str) -> Option<MessageRow> {
        let job_id = job_id.to_owned();
        db::run(&self.db, move |c| db::messages::find_by_job_id(c, &job_id))
            .await
            .unwrap()
    }

    /// The assistant messages of the conversation (live and deleted).
    pub async fn assistant_messages(&self) -> Vec<MessageRow> {
        let conv = self.conversation;
        db::run(&self.db, move |c| {
            db::messages::list_page(c, conv, None, None, 1000, None)
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.role == MessageRole::Assistant)
        .collect()
    }

    pub async fn usage(&self) -> Vec<db::usage::UsageDailyRow> {
        let user = self.user;
        let today = Utc::now().date_naive();
        db::run(&self.db, move |c| {
            db::usage::for_user(c, user, today, today)
        })
        .await
        .unwrap()
    }

    pub async fn pending(&self) -> u64 {
        self.bus
            .job_consumer(llm_worker::config::GROUP, "observer")
            .await
            .unwrap()
            .pending_count()
            .await
            .unwrap()
    }

    /// Waits until the group has no unacknowledged entries.
    pub async fn wait_acked(&self) {
        let started = Instant::now();
        while self.pending().await > 0 {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "job never acknowledged"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

pub struct RunningWorker {
    pub stop: CancellationToken,
    pub task: JoinHandle<()>,
}

impl RunningWorker {
    /// A graceful stop; returns once the worker has drained.
    pub async fn shutdown(self) {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the worker stops within its shutdown timeout")
            .unwrap();
    }

    /// A crash: the task is aborted mid-whatever, nothing acknowledged.
    pub async fn kill(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// The delta texts of `attempt` of `job_id`, in order.
pub fn deltas(events: &[ConversationEvent], job_id: &str, attempt: u32) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            ConversationEvent::Delta {
                job_id: j,
                attempt: a,
                text,
            } if j == job_id && *a == attempt => Some(text.clone()),
            _ => None,
        })
        .collect()
}

pub fn started_attempts(events: &[ConversationEvent], job_id: &str) -> Vec<u32> {
    events
        .iter()
        .filter_map(|e| match e {
            ConversationEvent::GenerationStarted {
                job_id: j, attempt, ..
            } if j == job_id => Some(*attempt),
            _ => None,
        })
        .collect()
}

/// The `message.failed` events of a job: (reason, retryable).
pub fn failed(events: &[ConversationEvent], job_id: &str) -> Vec<(String, bool)> {
    events
        .iter()
        .filter_map(|e| match e {
            ConversationEvent::Failed {
                job_id: j,
                reason,
                retryable,
                ..
            } if j == job_id => Some((reason.clone(), *retryable)),
            _ => None,
        })
        .collect()
}

pub fn completed<'a>(
    events: &'a [ConversationEvent],
    job_id: &str,
) -> Vec<(&'a domain::events::MessageView, &'a domain::events::Usage)> {
    events
        .iter()
        .filter_map(|e| match e {
            ConversationEvent::Completed {
                job_id: j,
                message,
                usage,
            } if j == job_id => Some((message, usage)),
            _ => None,
        })
        .collect()
}

/// The payload type names, for readable assertions.
pub fn kinds(events: &[ConversationEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            serde_json::to_value(EventPayload::from(e.clone())).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}
