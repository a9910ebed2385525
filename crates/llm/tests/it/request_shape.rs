//! What each client sends: endpoint, auth headers, stream flags, system placement and roles.

use llm::{ChatMessage, OpenAiCompatible};
use serde_json::json;
use testkit::providers::{FakeProvider, ProviderKind};

use crate::helpers::{client, request, run, timeouts};

#[tokio::test]
async fn openai_request_shape() {
    let fake = FakeProvider::start(ProviderKind::OpenAi).await;
    let got = run(&*client(&fake, timeouts()), request("gpt-4o-mini")).await;
    assert!(got.error.is_none(), "{:?}", got.error);
    let sent = &fake.requests()[0];
    assert_eq!(sent["method"], "POST");
    assert_eq!(sent["path"], "/v1/chat/completions");
    assert_eq!(sent["headers"]["authorization"], "Bearer sk-test");
    assert_eq!(sent["headers"]["content-type"], "application/json");
    let body = &sent["body"];
    assert_eq!(body["model"], "gpt-4o-mini");
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"], json!({ "include_usage": true }));
    assert_eq!(
        body["messages"],
        json!([
            { "role": "system", "content": "You are Ada, a cheerful inventor." },
            { "role": "user", "content": "Hi Ada!" },
            { "role": "assistant", "content": "Hello there! What shall we build?" },
            { "role": "user", "content": "A tiny robot, please." },
        ])
    );
    assert_eq!(body["max_completion_tokens"], 256);
    assert!(body.get("max_tokens").is_none());
    assert_eq!(body["temperature"], 0.5);
    assert_eq!(body["top_p"], 0.25);
    assert_eq!(body["stop"], json!(["\nUser:"]));
}

#[tokio::test]
async fn openai_compatible_uses_max_tokens_and_its_base_url() {
    let fake = FakeProvider::start(ProviderKind::OpenAi).await;
    let model = OpenAiCompatible::new("compat", fake.base_url(), "", timeouts()).unwrap();
    let got = run(&model, request("llama3.1")).await;
    assert!(got.error.is_none(), "{:?}", got.error);
    assert_eq!(got.done.unwrap().2, "compat/llama3.1");
    let sent = &fake.requests()[0];
    assert_eq!(sent["path"], "/v1/chat/completions");
    assert_eq!(sent["body"]["max_tokens"], 256);
    assert!(sent["body"].get("max_completion_tokens").is_none());
}

#[tokio::test]
async fn anthropic_request_shape() {
    let fake = FakeProvider::start(ProviderKind::Anthropic).await;
    let mut req = request("claude-3-5-haiku-latest");
    // A leading system message joins the top-level system prompt; consecutive user turns
    // merge; an instruction after the history stays after it, as a block of the user's turn.
    req.messages
        .insert(0, ChatMessage::system("Stay in character."));
    req.messages.push(ChatMessage::user("With wheels."));
    req.messages
        .push(ChatMessage::system("Keep replies short."));
    let got = run(&*client(&fake, timeouts()), req).await;
    assert!(got.error.is_none(), "{:?}", got.error);
    let sent = &fake.requests()[0];
    assert_eq!(sent["path"], "/v1/messages");
    assert_eq!(sent["headers"]["x-api-key"], "ak-test");
    assert_eq!(sent["headers"]["anthropic-version"], "2023-06-01");
    assert!(sent["headers"].get("authorization").is_none());
    let body = &sent["body"];
    assert_eq!(body["model"], "claude-3-5-haiku-latest");
    assert_eq!(body["stream"], true);
    assert_eq!(body["max_tokens"], 256);
    assert_eq!(
        body["system"],
        "You are Ada, a cheerful inventor.\n\nStay in character."
    );
    assert_eq!(
        body["messages"],
        json!([
            { "role": "user", "content": "Hi Ada!" },
            { "role": "assistant", "content": "Hello there! What shall we build?" },
            { "role": "user", "content": [
                { "type": "text", "text": "A tiny robot, please.\n\nWith wheels." },
                { "type": "text", "text": "Keep replies short." },
            ] },
        ])
    );
    assert_eq!(body["temperature"], 0.5);
    assert_eq!(body["top_p"], 0.25);
    assert_eq!(body["stop_sequences"], json!(["\nUser:"]));
}

#[tokio::test]
async fn anthropic_max_tokens_is_always_sent() {
    let fake = FakeProvider::start(ProviderKind::Anthropic).await;
    let mut req = request("claude-3-5-haiku-latest");
    req.max_tokens = None;
    req.system = None;
    let got = run(&*client(&fake, timeouts()), req).await;
    assert!(got.error.is_none(), "{:?}", got.error);
    let body = &fake.requests()[0]["body"];
    assert_eq!(body["max_tokens"], 1024, "Anthropic requires max_tokens");
    assert!(body.get("system").is_none());
}

#[tokio::test]
async fn gemini_request_shape() {
    let fake = FakeProvider::start(ProviderKind::Gemini).await;
    let mut req = request("gemini-1.5-flash");
    // An instruction after the history stays after it, as a part of the user's turn.
    req.messages
        .push(ChatMessage::system("Keep replies short."));
    let got = run(&*client(&fake, timeouts()), req).await;
    assert!(got.error.is_none(), "{:?}", got.error);
    let sent = &fake.requests()[0];
    assert_eq!(
        sent["path"],
        "/v1beta/models/gemini-1.5-flash:streamGenerateContent"
    );
    assert_eq!(sent["query"], "alt=sse");
    assert_eq!(sent["headers"]["x-goog-api-key"], "gk-test");
    assert!(sent["headers"].get("authorization").is_none());
    let body = &sent["body"];
    assert_eq!(
        body["systemInstruction"],
        json!({ "parts": [{ "text": "You are Ada, a cheerful inventor." }] })
    );
    assert_eq!(
        body["contents"],
        json!([
            { "role": "user", "parts": [{ "text": "Hi Ada!" }] },
            { "role": "model", "parts": [{ "text": "Hello there! What shall we build?" }] },
            { "role": "user", "parts": [
                { "text": "A tiny robot, please." },
                { "text": "Keep replies short." },
            ] },
        ])
    );
    assert_eq!(
        body["generationConfig"],
        json!({ "maxOutputTokens": 256, "temperature": 0.5, "topP": 0.25, "stopSequences": ["\nUser:"] })
    );
}

#[tokio::test]
async fn unreachable_server_is_a_retryable_transport_error() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let models: Vec<Box<dyn llm::ChatModel>> = vec![
        Box::new(OpenAiCompatible::new("openai", format!("{base}/v1"), "k", timeouts()).unwrap()),
        Box::new(llm::Anthropic::new(&base, "k", timeouts()).unwrap()),
        Box::new(llm::Gemini::new(&base, "k", timeouts()).unwrap()),
    ];
    for model in models {
        let got = run(&*model, request("m")).await;
        let err = got.error.expect("an error");
        assert!(matches!(err, llm::LlmError::Transport(_)), "{err:?}");
        assert!(err.is_retryable());
        assert_eq!(err.reason(), "Could not reach the AI provider.");
    }
}
