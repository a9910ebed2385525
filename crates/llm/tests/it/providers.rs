//! The same behaviours for every provider: happy path with golden usage, retries, fail-fast,
//! mid-stream errors, malformed chunks, dropped connections and hangs.

use std::time::{Duration, Instant};

use llm::{LlmError, RetryPolicy, Retrying, TimeoutPhase, Timeouts, Usage};
use testkit::providers::{Behavior, FakeProvider, ProviderKind};

use crate::helpers::{client, quick_retry, request, run, timeouts};

fn retrying(
    fake: &FakeProvider,
    policy: RetryPolicy,
) -> Retrying<std::sync::Arc<dyn llm::ChatModel>> {
    Retrying::new(client(fake, timeouts()), policy)
}

fn ids(kind: ProviderKind) -> (&'static str, &'static str) {
    match kind {
        ProviderKind::OpenAi => ("openai/test-model", "stop"),
        ProviderKind::Anthropic => ("anthropic/test-model", "end_turn"),
        ProviderKind::Gemini => ("gemini/test-model", "STOP"),
    }
}

async fn happy_path(kind: ProviderKind) {
    let fake = FakeProvider::start(kind).await;
    let chunks = ["Hel", "lo, ", "wor", "ld! ", "✨ ünïcode"];
    // prompt 120 of which 40 read from cache (and, for Anthropic, 15 written to it).
    fake.set_default(
        Behavior::reply(&chunks)
            .with_usage(120, 9, 40)
            .with_cache_creation(15),
    );
    let got = run(&*client(&fake, timeouts()), request("test-model")).await;
    assert!(got.error.is_none(), "{:?}", got.error);
    assert_eq!(got.deltas, chunks, "deltas arrive exactly as sent");
    let (usage, finish, model) = got.done.expect("a Done event");
    assert_eq!(
        usage,
        Usage {
            prompt_tokens: 120,
            completion_tokens: 9,
            cached_prompt_tokens: 40,
        },
        "cache tokens are part of the prompt, counted once"
    );
    let (id, reason) = ids(kind);
    assert_eq!(finish.as_deref(), Some(reason));
    assert_eq!(model, id);
}

async fn rate_limit_honours_retry_after(kind: ProviderKind) {
    let fake = FakeProvider::start(kind).await;
    fake.push(Behavior::rate_limited(1));
    let started = Instant::now();
    let got = run(&retrying(&fake, quick_retry()), request("test-model")).await;
    let elapsed = started.elapsed();
    assert!(got.error.is_none(), "{:?}", got.error);
    assert_eq!(got.text(), "Hello from the fake");
    assert_eq!(fake.request_count(), 2);
    assert!(
        elapsed >= Duration::from_millis(1000),
        "waited the provider's retry-after, not the 10 ms backoff: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
}

async fn rate_limit_too_long_is_returned(kind: ProviderKind) {
    let fake = FakeProvider::start(kind).await;
    fake.push(Behavior::rate_limited(60));
    let started = Instant::now();
    let got = run(&retrying(&fake, quick_retry()), request("test-model")).await;
    match got.error {
        Some(LlmError::RateLimited { retry_after }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(60)));
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert_eq!(
        fake.request_count(),
        1,
        "a wait beyond max_retry_after is not waited out"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

async fn server_error_is_retried(kind: ProviderKind) {
    let fake = FakeProvider::start(kind).await;
    fake.push(Behavior::status(500));
    fake.push(Behavior::status(503));
    let got = run(&retrying(&fake, quick_retry()), request("test-model")).await;
    assert!(got.error.is_none(), "{:?}", got.error);
    assert_eq!(got.text(), "Hello from the fake");
    assert_eq!(fake.request_count(), 3);
}

async fn retries_are_bounded(kind: ProviderKind) {
    let fake = FakeProvider::start(kind).await;
    fake.set_default(Behavior::status(500));
    let got = run(&retrying(&fake, quick_retry()), request("test-model")).await;
    let err = got.error.expect("an error");
    assert!(matches!(err, LlmError::ServerError(_)), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(
        fake.request_count(),
        4,
        "one attempt and max_retries = 3 retries"
    );
}

async fn unauthorized_fails_fast(kind: ProviderKind) {
    let fake = FakeProvider::start(kind).await;
    fake.push(Behavior::status(401));
    let got = run(&retrying(&fake, quick_retry()), request("test-model")).await;
    let err = got.error.expect("an error");
    assert!(matches!(err, LlmError::Auth(_)), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(
        err.reason(),
        "The AI provider rejected the configured API key."
    );
    assert_eq!(fake.request_count(), 1, "no retry");
}

async fn bad_request_fails_fast(kind: ProviderKind) {
    let fake = FakeProvider::start(kind).await;
    fake.push(Behavior::status(400));
    let got = run(&retrying(&fake, quick_retry()), request("test-model")).await;
    let err = got.error.expect("an error");
    assert!(matches!(err, LlmError::BadRequest(_)), "{err:?}");
    assert_eq!(fake.request_count(), 1, "no retry");
}

async fn mid_stream_error_after_first_token_is_not_retried(kind: ProviderKind) {
    let fake = FakeProvider::start(kind).await;
    fake.push(Behavior::mid_stream_error(&["Once", " upon"]));
    let got = run(&retrying(&fake, quick_retry()), request("test-model")).await;
    assert_eq!(got.text(), "Once upon");
    assert!(got.done.is_none());
    let err = got.error.expect("the mid-stream error surfaces");
    match kind {
        ProviderKind::OpenAi => assert!(matches!(err, LlmError::ServerError(_)), "{err:?}"),
        ProviderKind::Anthropic | ProviderKind::Gemini => {
            assert!(matches!(err, LlmError::Overloaded(_)), "{err:?}")
        }
    }
    assert_eq!(fake.request_count(), 1, "no retry after the first token");
}

async fn early_mid_stream_error_is_retried(kind: ProviderKind) {
    let fake = FakeProvider::start(kind).await;
    fake.push(Behavior::mid_stream_error(&[]));
    let got = run(&retrying(&fake, quick_retry()), request("test-model")).await;
    assert!(got.error.is_none(), "{:?}", got.error);
    assert_eq!(got.text(), "Hello from the fake");
    assert_eq!(fake.request_count(), 2);
}

async fn malformed_chunk(kind: ProviderKind) {
    // Before the first token: a protocol error, retried.
    let fake = FakeProvider::start(kind).await;
    fake.push(Behavior::malformed(&[]));
    let got = run(&retrying(&fake, quick_retry()), request("test-model")).await;
    assert!(got.error.is_none(), "{:?}", got.error);
    assert_eq!(fake.request_count(), 2);

    // After it: surfaces as Protocol, not retried.
    let fake = FakeProvider::start(kind).await;
    fake.push(Behavior::malformed(&["Half"]));
    let got = run(&retrying(&fake, quick_retry()), request("test-model")).await;
    assert_eq!(got.text(), "Half");
    let err = got.error.expect("an error");
    assert!(matches!(err, LlmError::Protocol(_)), "{err:?}");
    assert_eq!(fake.request_count(), 1);
}

async fn dropped_connection(kind: ProviderKind) {
    let fake = FakeProvider::start(kind).await;
    fake.push(Behavior::drop_connection(&["Once", " upon"]));
    let got = run(&retrying(&fake, quick_retry()), request("test-model")).await;
    assert_eq!(got.text(), "Once upon");
    assert!(got.done.is_none());
    let err = got
        .error
        .expect("a dropped connection is an error, not a short reply");
    assert!(matches!(err, LlmError::Transport(_)), "{err:?}");
    assert_eq!(fake.request_count(), 1);

    let fake = FakeProvider::start(kind).await;
    fake.push(Behavior::drop_connection(&[]));
    let got = run(&retrying(&fake, quick_retry()), request("test-model")).await;
    assert!(got.error.is_none(), "{:?}", got.error);
    assert_eq!(
        fake.request_count(),
        2,
        "dropped before the first token: retried"
    );
}

fn short(first_token_ms: u64, idle_ms: u64) -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(2),
        first_token: Duration::from_millis(first_token_ms),
        idle: Duration::from_millis(idle_ms),
    }
}

async fn hang_hits_first_token_timeout(kind: ProviderKind) {
    let fake = FakeProvider::start(kind).await;
    fake.push(Behavior::hang(&[]));
    let started = Instant::now();
    let got = run(&*client(&fake, short(400, 5_000)), request("test-model")).await;
    let elapsed = started.elapsed();
    match got.error {
        Some(LlmError::Timeout {
            phase: TimeoutPhase::FirstToken,
        }) => {}
        other => panic!("expected a first-token timeout, got {other:?}"),
    }
    assert!(elapsed >= Duration::from_millis(400), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(2_000), "{elapsed:?}");

    // Headers sent, first token late: still the first-token timeout.
    let fake = FakeProvider::start(kind).await;
    fake.push(Behavior::reply(&["late"]).with_delays(Duration::from_secs(5), Duration::ZERO));
    let started = Instant::now();
    let got = run(&*client(&fake, short(400, 5_000)), request("test-model")).await;
    assert!(
        matches!(
            got.error,
            Some(LlmError::Timeout {
                phase: TimeoutPhase::FirstToken
            })
        ),
        "{:?}",
        got.error
    );
    assert!(started.elapsed() < Duration::from_millis(2_000));
}

async fn stall_hits_idle_timeout(kind: ProviderKind) {
    let fake = FakeProvider::start(kind).await;
    fake.push(Behavior::hang(&["Once"]));
    let started = Instant::now();
    let got = run(&*client(&fake, short(5_000, 400)), request("test-model")).await;
    let elapsed = started.elapsed();
    assert_eq!(got.text(), "Once");
    match got.error {
        Some(LlmError::Timeout {
            phase: TimeoutPhase::Idle,
        }) => {}
        other => panic!("expected an idle timeout, got {other:?}"),
    }
    assert!(elapsed >= Duration::from_millis(400), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(2_500), "{elapsed:?}");
}

async fn slow_but_steady_stream_is_fine(kind: ProviderKind) {
    let fake = FakeProvider::start(kind).await;
    fake.push(
        Behavior::reply(&["a", "b", "c", "d"])
            .with_delays(Duration::from_millis(150), Duration::from_millis(150)),
    );
    // Each gap (150 ms) is below the idle limit although the whole reply (600 ms) is not.
    let got = run(&*client(&fake, short(3_000, 400)), request("test-model")).await;
    assert!(got.error.is_none(), "{:?}", got.error);
    assert_eq!(got.text(), "abcd");
}

async fn hang_through_retries_then_timeout(kind: ProviderKind) {
    let fake = FakeProvider::start(kind).await;
    fake.set_default(Behavior::hang(&[]));
    let model = Retrying::new(
        client(&fake, short(200, 1_000)),
        RetryPolicy {
            max_retries: 1,
            ..quick_retry()
        },
    );
    let started = Instant::now();
    let got = run(&model, request("test-model")).await;
    assert!(
        matches!(got.error, Some(LlmError::Timeout { .. })),
        "{:?}",
        got.error
    );
    assert_eq!(fake.request_count(), 2, "timeouts are retried");
    assert!(started.elapsed() < Duration::from_secs(2));
}

macro_rules! provider_tests {
    ($module:ident, $kind:expr) => {
        mod $module {
            use super::*;

            #[tokio::test]
            async fn happy_path_with_golden_usage() {
                happy_path($kind).await
            }
            #[tokio::test]
            async fn rate_limit_honours_retry_after_then_succeeds() {
                rate_limit_honours_retry_after($kind).await
            }
            #[tokio::test]
            async fn rate_limit_beyond_max_retry_after_is_returned() {
                rate_limit_too_long_is_returned($kind).await
            }
            #[tokio::test]
            async fn server_errors_are_retried() {
                server_error_is_retried($kind).await
            }
            #[tokio::test]
            async fn retries_are_bounded_by_the_policy() {
                retries_are_bounded($kind).await
            }
            #[tokio::test]
            async fn unauthorized_fails_fast_without_retry() {
                unauthorized_fails_fast($kind).await
            }
            #[tokio::test]
            async fn bad_request_fails_fast_without_retry() {
                bad_request_fails_fast($kind).await
            }
            #[tokio::test]
            async fn mid_stream_error_after_first_token_surfaces_unretried() {
                mid_stream_error_after_first_token_is_not_retried($kind).await
            }
            #[tokio::test]
            async fn mid_stream_error_before_first_token_is_retried() {
                early_mid_stream_error_is_retried($kind).await
            }
            #[tokio::test]
            async fn malformed_chunk_is_a_protocol_error() {
                malformed_chunk($kind).await
            }
            #[tokio::test]
            async fn dropped_connection_is_a_transport_error() {
                dropped_connection($kind).await
            }
            #[tokio::test]
            async fn hang_hits_the_first_token_timeout() {
                hang_hits_first_token_timeout($kind).await
            }
            #[tokio::test]
            async fn stall_hits_the_idle_timeout() {
                stall_hits_idle_timeout($kind).await
            }
            #[tokio::test]
            async fn slow_but_steady_stream_completes() {
                slow_but_steady_stream_is_fine($kind).await
            }
            #[tokio::test]
            async fn hangs_are_retried_then_time_out() {
                hang_through_retries_then_timeout($kind).await
            }
        }
    };
}

provider_tests!(openai, ProviderKind::OpenAi);
provider_tests!(anthropic, ProviderKind::Anthropic);
provider_tests!(gemini, ProviderKind::Gemini);

/// Counts like the worker's Redis counter, in memory: allows `max` upstream requests.
struct Cap {
    max: u32,
    used: std::sync::atomic::AtomicU32,
}

impl llm::AttemptGate for Cap {
    fn try_acquire(&self) -> futures_util::future::BoxFuture<'_, bool> {
        let n = self.used.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        Box::pin(async move { n <= self.max })
    }
}

#[tokio::test]
async fn the_attempt_gate_caps_upstream_requests_and_keeps_the_real_reason() {
    for kind in [
        ProviderKind::OpenAi,
        ProviderKind::Anthropic,
        ProviderKind::Gemini,
    ] {
        let fake = FakeProvider::start(kind).await;
        fake.set_default(Behavior::rate_limited(0));
        let mut req = request("test-model");
        let cap = std::sync::Arc::new(Cap {
            max: 2,
            used: Default::default(),
        });
        req.attempts = Some(llm::Attempts::new(cap.clone()));
        // Three retries allowed by the policy, two requests by the gate.
        let got = run(&retrying(&fake, quick_retry()), req.clone()).await;
        assert_eq!(fake.request_count(), 2, "{kind:?}");
        let err = got.error.expect("an error");
        assert!(
            matches!(err, LlmError::RateLimited { .. }),
            "{kind:?}: {err:?}"
        );
        assert_eq!(err.code(), llm::FailureCode::RateLimited);
        // The cap spent before a call (an earlier delivery used it): no request at all.
        let got = run(&retrying(&fake, quick_retry()), req).await;
        assert_eq!(fake.request_count(), 2, "{kind:?}");
        assert!(matches!(got.error, Some(LlmError::AttemptsExhausted)));
    }
}
