//! Issue 23: one message's whole journey is one OpenTelemetry trace.
//!
//! api-service, llm-worker and chat-gateway run as three processes of their own — each with its
//! own global tracer and `service.name`, exporting over OTLP/HTTP to the test's receiver
//! (`testkit::otlp`), and flushing at SIGTERM as their `main` does — against the test's real
//! PostgreSQL and redis-server, with a fake OpenAI server as the provider. The processes are
//! this test binary started again to run [`child`] (so they always run the code under test;
//! their `main` is the same three lines: settings, `init_service`, `Application::build`).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use testkit::otlp::{OtlpReceiver, ReceivedSpan};
use testkit::providers::{Behavior, FakeProvider, ProviderKind};
use testkit::services::{Backend, TestEnv};
use tokio_tungstenite::tungstenite::Message;

const ROLE: &str = "TRACES_TEST_CHILD";
const WAIT: Duration = Duration::from_secs(20);

/// Not a test of its own: one service of [`an_ai_send_is_one_trace_across_the_services`],
/// started by it in a child process (`--ignored --exact traces::child`).
#[test]
#[ignore = "a child process of traces::an_ai_send_is_one_trace_across_the_services"]
fn child() {
    let role = std::env::var(ROLE).expect("started by the traces test");
    let settings = platform::Settings::load().expect("settings from the environment");
    match role.as_str() {
        "api-service" => actix_web::rt::System::new().block_on(async move {
            let _telemetry = platform::telemetry::init_service(&settings.log, "api-service");
            api_service::startup::Application::build(settings)
                .await
                .expect("api-service starts")
                .run_until_stopped()
                .await
                .expect("api-service runs");
        }),
        "chat-gateway" => actix_web::rt::System::new().block_on(async move {
            let _telemetry = platform::telemetry::init_service(&settings.log, "chat-gateway");
            chat_gateway::startup::Application::build(settings)
                .await
                .expect("chat-gateway starts")
                .run_until_stopped()
                .await
                .expect("chat-gateway runs");
        }),
        "llm-worker" => tokio::runtime::Runtime::new()
            .expect("runtime")
            .block_on(async move {
                let _telemetry = platform::telemetry::init_service(&settings.log, "llm-worker");
                llm_worker::startup::Application::build(settings)
                    .await
                    .expect("llm-worker starts")
                    .run_until_stopped()
                    .await
                    .expect("llm-worker runs");
            }),
        other => panic!("unknown role {other}"),
    }
}

/// A service process; killed if the test fails before stopping it.
struct Service {
    name: &'static str,
    child: Child,
}

impl Service {
    fn start(name: &'static str, env: &[(String, String)]) -> Service {
        let exe = std::env::current_exe().expect("the test binary");
        let mut cmd = Command::new(exe);
        cmd.args(["--ignored", "--exact", "traces::child", "--test-threads=1"])
            .env(ROLE, name)
            .stdin(Stdio::null());
        // TRACES_TEST_LOGS=1 shows the services' logs.
        if std::env::var_os("TRACES_TEST_LOGS").is_none() {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start a service process");
        Service { name, child }
    }

    /// SIGTERM, as an orchestrator stops it: the service drains and flushes its spans.
    async fn stop(mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(status.is_ok_and(|s| s.success()), "SIGTERM {}", self.name);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(status.success(), "{} exited with {status}", self.name);
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} did not stop after SIGTERM",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn wait_healthy(http: &reqwest::Client, port: u16, name: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let ok = http
            .get(format!("http://127.0.0.1:{port}/health"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ok {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} never became healthy"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn post(http: &reqwest::Client, url: String, token: Option<&str>, body: Value) -> Value {
    let mut req = http.post(url).json(&body);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.expect("request");
    assert!(resp.status().is_success(), "{}", resp.status());
    resp.json().await.expect("json")
}

/// Reads frames until one whose text contains `needle`.
async fn until_frame<S>(ws: &mut S, needle: &str) -> String
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let read = async {
        while let Some(frame) = ws.next().await {
            if let Ok(Message::Text(text)) = frame {
                if text.contains(needle) {
                    return text.to_string();
                }
            }
        }
        panic!("socket closed before {needle}");
    };
    tokio::time::timeout(WAIT, read)
        .await
        .unwrap_or_else(|_| panic!("no frame with {needle}"))
}

fn random_hex(len: usize) -> String {
    let mut s = String::new();
    while s.len() < len {
        s.push_str(&uuid::Uuid::new_v4().simple().to_string());
    }
    s.truncate(len);
    s
}

/// The spans of one trace, and how they hang together.
struct Trace<'a> {
    spans: Vec<&'a ReceivedSpan>,
}

impl<'a> Trace<'a> {
    fn of(all: &'a [ReceivedSpan], trace_id: &str) -> Trace<'a> {
        Trace {
            spans: all.iter().filter(|s| s.trace_id() == trace_id).collect(),
        }
    }

    fn find(&self, what: &str, pred: impl Fn(&ReceivedSpan) -> bool) -> &'a ReceivedSpan {
        self.spans
            .iter()
            .copied()
            .find(|s| pred(s))
            .unwrap_or_else(|| panic!("no {what} span in the trace: {}", self.describe()))
    }

    fn by_id(&self, id: &str) -> Option<&'a ReceivedSpan> {
        self.spans.iter().copied().find(|s| s.span_id() == id)
    }

    /// Whether `ancestor` is `span` or above it.
    fn descends(&self, span: &ReceivedSpan, ancestor: &ReceivedSpan) -> bool {
        let mut current = Some(span);
        for _ in 0..64 {
            let Some(s) = current else { return false };
            if s.span_id() == ancestor.span_id() {
                return true;
            }
            current = s.parent_id().and_then(|p| self.by_id(&p));
        }
        false
    }

    fn describe(&self) -> String {
        self.spans
            .iter()
            .map(|s| {
                format!(
                    "\n  {} {} [{}] parent {:?}",
                    s.service,
                    s.name(),
                    s.span_id(),
                    s.parent_id()
                )
            })
            .collect()
    }
}

#[tokio::test]
async fn an_ai_send_is_one_trace_across_the_services() {
    let env = TestEnv::new(Backend::Postgres).await;
    let receiver = OtlpReceiver::start().await;
    let provider = FakeProvider::start(ProviderKind::OpenAi).await;
    // The reply's tokens and the user's message are unique markers: neither may be exported.
    let token_marker = format!("tok{}", random_hex(12));
    let text_marker = format!("msg{}", random_hex(12));
    provider.push(Behavior::reply(&["Well, ", &token_marker, " indeed."]));
    // The second message's provider call fails (a 400 is not retried).
    provider.push(Behavior::status(400));

    let (api_port, gateway_port, ops_port) = (free_port(), free_port(), free_port());
    let s = &env.settings;
    let vars: Vec<(String, String)> = [
        ("APP_ENV", "test".to_owned()),
        ("DATABASE_URL", s.database.url.clone()),
        ("REDIS_URL", s.redis.url.clone()),
        ("APP__REDIS__KEY_PREFIX", s.redis.key_prefix.clone()),
        ("JWT_SECRET", s.auth.jwt_secret.clone()),
        ("APP__AUTH__BCRYPT_COST", "4".to_owned()),
        ("APP__DATABASE__POOL_SIZE", "4".to_owned()),
        ("APP__HTTP__WORKERS", "1".to_owned()),
        ("APP__HTTP__SHUTDOWN_TIMEOUT_SECS", "2".to_owned()),
        ("APP__HTTP__API_PORT", api_port.to_string()),
        ("APP__HTTP__GATEWAY_PORT", gateway_port.to_string()),
        ("APP__HTTP__WORKER_OPS_PORT", ops_port.to_string()),
        ("APP__HTTP__WEB_DIR", "/nonexistent".to_owned()),
        ("OPENAI_API_KEY", "sk-test".to_owned()),
        ("OPENAI_BASE_URL", provider.base_url()),
        ("APP__LLM__DEFAULT_MODEL", "openai/gpt-4o-mini".to_owned()),
        ("RUST_LOG", "info".to_owned()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint()),
        // Every new trace is kept; spans are sent every 100 ms (and all at SIGTERM).
        ("OTEL_TRACES_SAMPLER", "parentbased_always_on".to_owned()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let api = Service::start("api-service", &vars);
    let worker = Service::start("llm-worker", &vars);
    let gateway = Service::start("chat-gateway", &vars);
    let http = reqwest::Client::new();
    wait_healthy(&http, api_port, "api-service").await;
    wait_healthy(&http, ops_port, "llm-worker").await;
    wait_healthy(&http, gateway_port, "chat-gateway").await;

    let base = format!("http://127.0.0.1:{api_port}/api/v1");
    let username = format!("tr{}", random_hex(8));
    let user = post(
        &http,
        format!("{base}/auth/register"),
        None,
        json!({"username": username, "email": format!("{username}@example.com"), "password": "passw0rd-long"}),
    )
    .await;
    let token = user["access_token"].as_str().expect("token").to_owned();
    let user_id = user["user"]["id"].as_i64().expect("id");
    let character = post(
        &http,
        format!("{base}/characters"),
        Some(&token),
        json!({
            "name": "Luna",
            "description": "A test character.",
            "personality": "curious",
            "greeting": "Hello {{user}}, I am {{char}}.",
            "system_prompt": "You are {{char}}.",
            "visibility": "private",
        }),
    )
    .await["id"]
        .as_i64()
        .expect("character id");
    let conversation = post(
        &http,
        format!("{base}/conversations"),
        Some(&token),
        json!({"kind": "ai_chat", "character_id": character}),
    )
    .await["id"]
        .as_i64()
        .expect("conversation id");

    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{gateway_port}/ws?token={token}"))
            .await
            .expect("websocket");
    until_frame(&mut ws, "\"ready\"").await;
    ws.send(Message::text(
        json!({"type": "subscribe", "id": "s1", "conversation_id": conversation}).to_string(),
    ))
    .await
    .expect("subscribe");
    until_frame(&mut ws, "\"subscribed\"").await;

    // The client's own span: the trace id is known before anything runs.
    let (ok_trace, client_span) = (random_hex(32), random_hex(16));
    let send = |content: String, trace: &str| {
        http.post(format!("{base}/conversations/{conversation}/messages"))
            .bearer_auth(&token)
            .header("traceparent", format!("00-{trace}-{client_span}-01"))
            .json(&json!({ "content": content }))
            .send()
    };
    let sent = send(format!("{text_marker} hello"), &ok_trace)
        .await
        .expect("send");
    assert_eq!(sent.status(), 202);
    until_frame(&mut ws, "message.completed").await;
    let failed_trace = random_hex(32);
    let sent = send(format!("{text_marker} again"), &failed_trace)
        .await
        .expect("send");
    assert_eq!(sent.status(), 202);
    until_frame(&mut ws, "message.failed").await;
    drop(ws);

    // SIGTERM: each service drains, then flushes what it still buffers.
    api.stop().await;
    worker.stop().await;
    gateway.stop().await;
    let all = receiver
        .wait_until(WAIT, |spans| {
            spans
                .iter()
                .any(|s| s.trace_id() == ok_trace && s.name() == "deliver")
        })
        .await;

    // One trace: the request, the job, the provider call, the publishes and the deliveries.
    let trace = Trace::of(&all, &ok_trace);
    assert!(
        !trace.spans.is_empty(),
        "{} export requests, {} spans, none of trace {ok_trace}",
        receiver.export_requests(),
        all.len()
    );
    let request = trace.find("request", |s| {
        s.service == "api-service" && s.name() == "POST /api/v1/conversations/{id}/messages"
    });
    assert_eq!(
        request.parent_id().as_deref(),
        Some(client_span.as_str()),
        "the request continues the client's trace"
    );
    assert_eq!(
        request.attr("http.response.status_code").as_deref(),
        Some("202")
    );
    assert_eq!(
        request.attr("http.route").as_deref(),
        Some("/api/v1/conversations/{id}/messages")
    );
    assert_eq!(request.attr("user.id"), Some(user_id.to_string()));
    trace.find("database round trip under the request", |s| {
        s.name() == "db" && s.service == "api-service" && trace.descends(s, request)
    });
    let enqueue = trace.find("enqueue", |s| {
        s.name() == "bus.enqueue_job" && s.service == "api-service"
    });
    assert!(trace.descends(enqueue, request), "{}", trace.describe());
    let job = trace.find("job", |s| {
        s.service == "llm-worker" && s.name().starts_with("llm.jobs process")
    });
    assert_eq!(
        job.parent_id().as_deref(),
        Some(enqueue.span_id().as_str()),
        "the worker's job is a child of the enqueue: {}",
        trace.describe()
    );
    assert_eq!(job.attr("outcome").as_deref(), Some("completed"));
    let generate = trace.find("provider call", |s| {
        s.service == "llm-worker" && s.name() == "chat openai/gpt-4o-mini"
    });
    assert!(trace.descends(generate, job), "{}", trace.describe());
    assert_eq!(
        generate.attr("gen_ai.provider.name").as_deref(),
        Some("openai")
    );
    assert_eq!(
        generate.attr("gen_ai.usage.input_tokens").as_deref(),
        Some("12")
    );
    assert_eq!(
        generate.attr("gen_ai.usage.output_tokens").as_deref(),
        Some("3")
    );
    assert!(generate.attr("llm.time_to_first_token_ms").is_some());
    assert!(!generate.is_error());
    let publish = trace.find("delta publish", |s| {
        s.service == "llm-worker"
            && s.name() == "bus.publish"
            && s.parent_id() == Some(generate.span_id())
    });
    let delivery = trace.find("gateway delivery", |s| {
        s.service == "chat-gateway"
            && s.name() == "deliver"
            && s.parent_id() == Some(publish.span_id())
    });
    assert_eq!(delivery.attr("delivered").as_deref(), Some("1"));
    // Every span hangs off the trace (no orphan, no second root).
    for span in &trace.spans {
        let parent = span.parent_id().expect("only the client's span is a root");
        assert!(
            parent == client_span || trace.by_id(&parent).is_some(),
            "{} has a parent outside the trace: {}",
            span.name(),
            trace.describe()
        );
    }

    // The failed provider call is an error, on its span and its job's.
    let failed = Trace::of(&all, &failed_trace);
    let generate = failed.find("failed provider call", |s| {
        s.name() == "chat openai/gpt-4o-mini"
    });
    assert!(generate.is_error(), "{}", failed.describe());
    assert_eq!(generate.attr("error.type").as_deref(), Some("bad_request"));
    assert!(
        !generate.status_message().is_empty(),
        "the cause is on the span"
    );
    let job = failed.find("failed job", |s| s.name().starts_with("llm.jobs process"));
    assert!(job.is_error() && job.attr("outcome").as_deref() == Some("failed"));

    // Nothing exported carries the message or a token of the reply.
    assert!(all.len() > 20, "spans of three services: {}", all.len());
    for span in &all {
        for text in span.all_text() {
            assert!(
                !text.contains(&text_marker) && !text.contains(&token_marker),
                "{} ({}) exports message text: {text}",
                span.name(),
                span.service
            );
        }
    }
}
