//! Conversations as trees (issue 15), the worker's side: the use cases of `chat` (regenerate,
//! select a variant, edit and rerun, continue) against a running worker and a stand-in
//! provider that records every request — the prompt follows only the active path and only the
//! active variant.

use std::sync::Arc;

use chat::{Actor, ChatContext};
use domain::MessageId;
use testkit::providers::{Behavior, FakeProvider, ProviderKind};
use testkit::services::Backend;

use crate::helpers::{completed, use_fake, Harness};

fn context(h: &Harness) -> (ChatContext, Actor) {
    let ctx = ChatContext {
        db: h.db.clone(),
        bus: h.bus.clone(),
        settings: Arc::new(h.settings()),
    };
    let actor = Actor {
        id: h.user,
        username: "alice".into(),
        is_admin: false,
    };
    (ctx, actor)
}

/// The text of every message of the provider request number `n`.
fn prompt(fake: &FakeProvider, n: usize) -> String {
    fake.requests()[n]["body"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Sends through the use case (stored, outbox, enqueued) and waits for the reply.
async fn send(h: &Harness, ctx: &ChatContext, actor: &Actor, text: &str) -> (MessageId, String) {
    let sent = chat::messages::send(
        ctx,
        actor,
        h.conversation,
        chat::messages::SendInput {
            content: text.into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let job = sent.job_id.unwrap();
    h.wait_finished(&job).await;
    (sent.message.id, job)
}

async fn three_variants_then_the_second_selected(backend: Backend) {
    let h = Harness::new(backend).await;
    let fake = FakeProvider::start(ProviderKind::OpenAi).await;
    for text in [
        "VARIANT-ZERO",
        "VARIANT-ONE",
        "VARIANT-TWO",
        "VARIANT-THREE",
        "NEXT",
    ] {
        fake.push(Behavior::reply(&[text]));
    }
    let mut settings = h.settings();
    use_fake(&mut settings, &fake);
    let worker = h.start_worker(&settings);
    let (ctx, actor) = context(&h);

    let (_, first_job) = send(&h, &ctx, &actor, "Tell me a story.").await;
    let mut variants = vec![h.reply(&first_job).await.unwrap().id];
    for _ in 0..3 {
        let started = chat::generations::regenerate(&ctx, &actor, h.conversation)
            .await
            .unwrap();
        let events = h.wait_finished(&started.job_id).await;
        assert_eq!(completed(&events, &started.job_id).len(), 1);
        variants.push(started.message.id);
    }
    // Select variant 2 (0-based): "VARIANT-TWO".
    let selected = chat::tree::select_variant(&ctx, &actor, h.conversation, variants[3], 2)
        .await
        .unwrap();
    assert_eq!(selected.message.id, variants[2]);
    assert_eq!(selected.message.content, "VARIANT-TWO");
    assert_eq!(selected.message.fork.unwrap().count, 4);

    send(&h, &ctx, &actor, "And then?").await;
    worker.shutdown().await;
    let last = prompt(&fake, fake.request_count() - 1);
    assert!(last.contains("VARIANT-TWO"), "{last}");
    for other in ["VARIANT-ZERO", "VARIANT-ONE", "VARIANT-THREE"] {
        assert!(!last.contains(other), "{other} leaked into {last}");
    }
    // Every variant generated is charged: four replies and the next one.
    let usage = h.usage().await;
    assert_eq!(usage.iter().map(|u| u.messages).sum::<i64>(), 5);
}

#[tokio::test]
async fn three_variants_then_the_second_selected_postgres() {
    three_variants_then_the_second_selected(Backend::Postgres).await;
}

#[tokio::test]
async fn three_variants_then_the_second_selected_sqlite() {
    three_variants_then_the_second_selected(Backend::Sqlite).await;
}

async fn rerun_keeps_both_branches(backend: Backend) {
    let h = Harness::new(backend).await;
    let fake = FakeProvider::start(ProviderKind::OpenAi).await;
    for text in ["ANSWER-ONE", "OLD-ANSWER", "NEW-ANSWER", "FINAL", "AGAIN"] {
        fake.push(Behavior::reply(&[text]));
    }
    let mut settings = h.settings();
    use_fake(&mut settings, &fake);
    let worker = h.start_worker(&settings);
    let (ctx, actor) = context(&h);

    send(&h, &ctx, &actor, "QUESTION-ONE").await;
    let (asked, _) = send(&h, &ctx, &actor, "OLD-QUESTION").await;
    let rerun = chat::tree::rerun(&ctx, &actor, h.conversation, asked, "NEW-QUESTION")
        .await
        .unwrap();
    h.wait_finished(rerun.job_id.as_deref().unwrap()).await;
    let rerun_prompt = prompt(&fake, 2);
    assert!(rerun_prompt.contains("NEW-QUESTION") && !rerun_prompt.contains("OLD-"));

    send(&h, &ctx, &actor, "FOLLOW-UP").await;
    let follow = prompt(&fake, 3);
    assert!(
        follow.contains("NEW-ANSWER") && follow.contains("QUESTION-ONE"),
        "{follow}"
    );
    assert!(
        !follow.contains("OLD-QUESTION") && !follow.contains("OLD-ANSWER"),
        "{follow}"
    );

    // The old branch is still there: select it and the next prompt follows it.
    let back = chat::tree::select_variant(&ctx, &actor, h.conversation, rerun.message.id, 0)
        .await
        .unwrap();
    assert_eq!(back.message.id, asked);
    send(&h, &ctx, &actor, "BACK-AGAIN").await;
    worker.shutdown().await;
    let again = prompt(&fake, 4);
    assert!(
        again.contains("OLD-QUESTION") && again.contains("OLD-ANSWER"),
        "{again}"
    );
    assert!(
        !again.contains("NEW-") && !again.contains("FOLLOW-UP"),
        "{again}"
    );
}

#[tokio::test]
async fn rerun_keeps_both_branches_postgres() {
    rerun_keeps_both_branches(Backend::Postgres).await;
}

#[tokio::test]
async fn rerun_keeps_both_branches_sqlite() {
    rerun_keeps_both_branches(Backend::Sqlite).await;
}

async fn continue_appends_to_the_last_reply(backend: Backend) {
    let h = Harness::new(backend).await;
    let fake = FakeProvider::start(ProviderKind::OpenAi).await;
    fake.push(Behavior::reply(&["Once upon"]));
    fake.push(Behavior::reply(&[" a time."]));
    let mut settings = h.settings();
    use_fake(&mut settings, &fake);
    let worker = h.start_worker(&settings);
    let (ctx, actor) = context(&h);

    let (_, job) = send(&h, &ctx, &actor, "Start a tale.").await;
    let reply = h.reply(&job).await.unwrap();
    let cont = chat::generations::continue_reply(&ctx, &actor, h.conversation, reply.id)
        .await
        .unwrap();
    let events = h.wait_finished(&cont).await;
    worker.shutdown().await;
    let done = completed(&events, &cont);
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].0.content, "Once upon a time.");
    assert_eq!(done[0].0.id, reply.id, "the same reply grew");
    let second = prompt(&fake, 1);
    assert!(second.contains("Once upon") && second.contains("Continue your last reply"));
    assert_eq!(h.assistant_messages().await.len(), 1);
}

#[tokio::test]
async fn continue_appends_to_the_last_reply_postgres() {
    continue_appends_to_the_last_reply(Backend::Postgres).await;
}

#[tokio::test]
async fn continue_appends_to_the_last_reply_sqlite() {
    continue_appends_to_the_last_reply(Backend::Sqlite).await;
}

fn slow(n: usize, gap_ms: u64) -> Behavior {
    let chunks: Vec<String> = (0..n).map(|i| format!("s{i} ")).collect();
    let refs: Vec<&str> = chunks.iter().map(String::as_str).collect();
    Behavior::reply(&refs).with_delays(
        std::time::Duration::ZERO,
        std::time::Duration::from_millis(gap_ms),
    )
}

/// A worker killed while writing a variant: another worker finishes it, and the turn has
/// exactly one stored variant for that job (the placeholder, completed).
#[tokio::test]
async fn a_worker_killed_mid_variant_leaves_exactly_one_variant() {
    let h = Harness::new(Backend::Postgres).await;
    let fake = FakeProvider::start(ProviderKind::OpenAi).await;
    fake.push(Behavior::reply(&["FIRST"]));
    fake.push(slow(60, 50)); // worker A's variant: it dies before the end
    fake.set_default(Behavior::reply(&["Fresh", " variant"])); // worker B's
    let mut settings = h.settings();
    use_fake(&mut settings, &fake);
    settings.llm.reclaim_idle_ms = 500;
    let a = h.start_worker(&settings);
    let (ctx, actor) = context(&h);
    send(&h, &ctx, &actor, "Tell me a long tale").await;
    let started = chat::generations::regenerate(&ctx, &actor, h.conversation)
        .await
        .unwrap();
    h.wait_events(
        "worker A streaming",
        std::time::Duration::from_secs(10),
        |events| crate::helpers::deltas(events, &started.job_id, 1).len() >= 2,
    )
    .await;
    a.kill().await;

    let b = h.start_worker(&settings);
    let events = h.wait_finished(&started.job_id).await;
    b.shutdown().await;
    let done = completed(&events, &started.job_id);
    assert_eq!(done.len(), 1);
    assert_eq!(
        done[0].0.id, started.message.id,
        "the placeholder was completed"
    );
    assert_eq!(done[0].0.content, "Fresh variant");
    // The variant on the path is the one completed; its siblings are the first reply and it.
    let current = h.assistant_messages().await;
    assert_eq!(current.len(), 1);
    let variants = db::run(&h.db, move |c| db::tree::siblings(c, &current[0]))
        .await
        .unwrap();
    assert_eq!(variants.len(), 2, "the first reply and one variant");
    assert_eq!(
        variants
            .iter()
            .filter(|v| v.job_id.as_deref() == Some(started.job_id.as_str()))
            .count(),
        1
    );
}
