//! Model ids, aliases, the default model, fallback chains and the mock when no key is set.

use std::collections::HashMap;

use llm::{LlmError, Router, RouterConfig};
use testkit::providers::{Behavior, FakeProvider, ProviderKind};

use crate::helpers::{quick_retry, request, run, timeouts};

fn config() -> RouterConfig {
    RouterConfig {
        timeouts: timeouts(),
        retry: quick_retry(),
        mock_tokens_per_sec: 0.0,
        ..RouterConfig::default()
    }
}

#[tokio::test]
async fn aliases_and_default_model() {
    let openai = FakeProvider::start(ProviderKind::OpenAi).await;
    let router = Router::new(RouterConfig {
        openai_api_key: Some("sk-test".into()),
        openai_base_url: Some(openai.base_url()),
        default_model: Some("smart".into()),
        aliases: HashMap::from([
            ("fast".into(), "openai/gpt-4o-mini".into()),
            ("smart".into(), "openai/gpt-4o".into()),
        ]),
        ..config()
    })
    .unwrap();
    assert!(!router.is_mock_only());
    assert_eq!(router.providers(), ["mock", "openai"]);

    let (model, id) = router.resolve(Some("fast")).unwrap();
    assert_eq!(id, "openai/gpt-4o-mini");
    let got = run(&*model, request("ignored: the resolved model is bound")).await;
    assert!(got.error.is_none(), "{:?}", got.error);
    assert_eq!(got.done.unwrap().2, "openai/gpt-4o-mini");
    assert_eq!(openai.requests()[0]["body"]["model"], "gpt-4o-mini");

    let (_, id) = router.resolve(None).unwrap();
    assert_eq!(id, "openai/gpt-4o", "the default model, through its alias");
    let (_, id) = router.resolve(Some("openai/gpt-4.1")).unwrap();
    assert_eq!(id, "openai/gpt-4.1", "any model of a configured provider");
}

#[tokio::test]
async fn unknown_or_unconfigured_models_are_bad_requests() {
    let openai = FakeProvider::start(ProviderKind::OpenAi).await;
    let router = Router::new(RouterConfig {
        openai_api_key: Some("sk-test".into()),
        openai_base_url: Some(openai.base_url()),
        ..config()
    })
    .unwrap();
    assert_eq!(router.default_model(), "openai/gpt-4o-mini");
    for name in ["no-slash", "gemini/gemini-1.5-flash", "nope/model"] {
        match router.resolve(Some(name)) {
            Err(LlmError::BadRequest(_)) => {}
            Err(other) => panic!("{name}: expected BadRequest, got {other:?}"),
            Ok((_, id)) => panic!("{name}: expected BadRequest, got {id}"),
        }
    }
}

#[tokio::test]
async fn fallback_after_retries_before_first_token() {
    let openai = FakeProvider::start(ProviderKind::OpenAi).await;
    let anthropic = FakeProvider::start(ProviderKind::Anthropic).await;
    openai.set_default(Behavior::status(503));
    anthropic.set_default(Behavior::reply(&["Fallback", " here"]));
    let router = Router::new(RouterConfig {
        openai_api_key: Some("sk-test".into()),
        openai_base_url: Some(openai.base_url()),
        anthropic_api_key: Some("ak-test".into()),
        anthropic_base_url: Some(anthropic.base_url()),
        aliases: HashMap::from([("claude".into(), "anthropic/claude-3-5-haiku-latest".into())]),
        fallbacks: HashMap::from([("openai/gpt-4o-mini".into(), vec!["claude".into()])]),
        ..config()
    })
    .unwrap();
    let (model, id) = router.resolve(Some("openai/gpt-4o-mini")).unwrap();
    assert_eq!(id, "openai/gpt-4o-mini");
    let got = run(&*model, request("x")).await;
    assert!(got.error.is_none(), "{:?}", got.error);
    assert_eq!(got.text(), "Fallback here");
    assert_eq!(got.done.unwrap().2, "anthropic/claude-3-5-haiku-latest");
    assert_eq!(openai.request_count(), 4, "the primary was retried first");
    assert_eq!(anthropic.request_count(), 1);
    assert_eq!(
        anthropic.requests()[0]["body"]["model"],
        "claude-3-5-haiku-latest"
    );
}

#[tokio::test]
async fn no_fallback_for_request_errors_or_after_first_token() {
    let openai = FakeProvider::start(ProviderKind::OpenAi).await;
    let gemini = FakeProvider::start(ProviderKind::Gemini).await;
    let router = Router::new(RouterConfig {
        openai_api_key: Some("sk-test".into()),
        openai_base_url: Some(openai.base_url()),
        gemini_api_key: Some("gk-test".into()),
        gemini_base_url: Some(gemini.base_url()),
        fallbacks: HashMap::from([(
            "openai/gpt-4o-mini".into(),
            vec!["gemini/gemini-1.5-flash".into()],
        )]),
        ..config()
    })
    .unwrap();
    let (model, _) = router.resolve(Some("openai/gpt-4o-mini")).unwrap();

    openai.push(Behavior::status(400));
    let got = run(&*model, request("x")).await;
    assert!(
        matches!(got.error, Some(LlmError::BadRequest(_))),
        "{:?}",
        got.error
    );

    openai.push(Behavior::mid_stream_error(&["Partial"]));
    let got = run(&*model, request("x")).await;
    assert_eq!(got.text(), "Partial");
    assert!(
        matches!(got.error, Some(LlmError::ServerError(_))),
        "{:?}",
        got.error
    );

    assert_eq!(gemini.request_count(), 0, "never fell back");
}

#[tokio::test]
async fn auth_failure_falls_back_to_another_provider() {
    let openai = FakeProvider::start(ProviderKind::OpenAi).await;
    let gemini = FakeProvider::start(ProviderKind::Gemini).await;
    openai.set_default(Behavior::status(401));
    let router = Router::new(RouterConfig {
        openai_api_key: Some("sk-test".into()),
        openai_base_url: Some(openai.base_url()),
        gemini_api_key: Some("gk-test".into()),
        gemini_base_url: Some(gemini.base_url()),
        fallbacks: HashMap::from([(
            "openai/gpt-4o-mini".into(),
            vec!["gemini/gemini-1.5-flash".into()],
        )]),
        ..config()
    })
    .unwrap();
    let (model, _) = router.resolve(Some("openai/gpt-4o-mini")).unwrap();
    let got = run(&*model, request("x")).await;
    assert!(got.error.is_none(), "{:?}", got.error);
    assert_eq!(got.done.unwrap().2, "gemini/gemini-1.5-flash");
    assert_eq!(
        openai.request_count(),
        1,
        "auth is not retried, only fallen back from"
    );
}

#[tokio::test]
async fn unconfigured_primary_uses_its_fallback() {
    let anthropic = FakeProvider::start(ProviderKind::Anthropic).await;
    let router = Router::new(RouterConfig {
        anthropic_api_key: Some("ak-test".into()),
        anthropic_base_url: Some(anthropic.base_url()),
        fallbacks: HashMap::from([(
            "openai/gpt-4o-mini".into(),
            vec!["anthropic/claude-3-5-haiku-latest".into()],
        )]),
        ..config()
    })
    .unwrap();
    assert_eq!(router.default_model(), "anthropic/claude-3-5-haiku-latest");
    let (_, id) = router.resolve(Some("openai/gpt-4o-mini")).unwrap();
    assert_eq!(id, "anthropic/claude-3-5-haiku-latest");
}

#[tokio::test]
async fn no_key_at_all_means_the_mock() {
    let router = Router::new(RouterConfig {
        openai_api_key: Some("   ".into()),
        default_model: Some("openai/gpt-4o".into()),
        ..config()
    })
    .unwrap();
    assert!(router.is_mock_only());
    assert_eq!(router.providers(), ["mock"]);
    assert_eq!(router.default_model(), "mock/echo");
    let (model, id) = router.resolve(None).unwrap();
    assert_eq!(id, "mock/echo");
    let got = run(&*model, request("x")).await;
    assert!(got.error.is_none(), "{:?}", got.error);
    assert!(got.text().contains("mock"), "{}", got.text());
    assert_eq!(got.done.unwrap().2, "mock/echo");
    let (_, id) = router
        .resolve(Some("anthropic/claude-3-5-haiku-latest"))
        .unwrap();
    assert_eq!(id, "mock/echo", "every model is served by the mock");
}

#[tokio::test]
async fn compat_provider_from_a_base_url() {
    let server = FakeProvider::start(ProviderKind::OpenAi).await;
    let router = Router::new(RouterConfig {
        compat_base_url: Some(server.base_url()),
        ..config()
    })
    .unwrap();
    assert!(!router.is_mock_only());
    let (model, id) = router.resolve(Some("compat/llama3.1")).unwrap();
    assert_eq!(id, "compat/llama3.1");
    let got = run(&*model, request("x")).await;
    assert!(got.error.is_none(), "{:?}", got.error);
    assert_eq!(server.requests()[0]["body"]["model"], "llama3.1");
    assert!(
        server.requests()[0]["headers"]
            .get("authorization")
            .is_none(),
        "no key, no Authorization header"
    );
}
