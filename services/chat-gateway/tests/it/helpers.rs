//! Two gateway replicas in-process against one real Redis and one real database, and a real
//! WebSocket client (tokio-tungstenite).

use std::sync::Arc;
use std::time::Duration;

use bus::Bus;
use chat_gateway::config::GatewayConfig;
use chat_gateway::startup::{Application, Stopper};
use chat_gateway::state::Gateway;
use db::conversations::NewConversationRow;
use domain::events::{ConversationEvent, EventPayload};
use domain::{ConversationId, ConversationKind, MemberRole, Role, UserId};
use futures_util::{SinkExt, StreamExt};
use platform::{JwtKeys, Settings};
use serde_json::{json, Value};
use testkit::services::{Backend, TestEnv};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const WAIT: Duration = Duration::from_secs(10);

/// Timings short enough for tests (presence, registry) and otherwise the defaults.
pub fn test_config() -> GatewayConfig {
    GatewayConfig {
        presence_poll: Duration::from_millis(150),
        presence_refresh: Duration::from_millis(300),
        presence_ttl: Duration::from_millis(1_000),
        registry_interval: Duration::from_millis(200),
        registry_ttl: Duration::from_millis(1_000),
        drain_timeout: Duration::from_secs(3),
        ..GatewayConfig::default()
    }
}

pub struct Replica {
    pub port: u16,
    pub node_id: String,
    pub stopper: Stopper,
    pub gateway: Arc<Gateway>,
    pub server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Replica {
    pub async fn start(settings: Settings, cfg: GatewayConfig) -> Replica {
        let app = Application::build_with(settings, cfg).await.unwrap();
        Replica {
            port: app.port(),
            node_id: app.node_id().to_owned(),
            stopper: app.stopper(),
            gateway: app.gateway(),
            server: tokio::spawn(app.run_until_stopped()),
        }
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("ws://127.0.0.1:{}{path_and_query}", self.port)
    }

    pub fn http(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn connections(&self) -> usize {
        self.gateway.hub.connection_count()
    }
}

pub struct Cluster {
    /// Keeps the test database alive.
    _env: TestEnv,
    pub a: Replica,
    pub b: Replica,
    pub keys: JwtKeys,
    pub pool: db::DbPool,
    pub bus: Bus,
}

impl Cluster {
    pub async fn start(backend: Backend) -> Cluster {
        Self::start_with(backend, |_, _| {}).await
    }

    /// Two replicas sharing the test's database and Redis prefix; `tweak` adjusts both.
    pub async fn start_with(
        backend: Backend,
        tweak: impl Fn(&mut Settings, &mut GatewayConfig),
    ) -> Cluster {
        let env = TestEnv::new(backend).await;
        Self::start_in(env, tweak).await
    }

    pub async fn start_in(
        env: TestEnv,
        tweak: impl Fn(&mut Settings, &mut GatewayConfig),
    ) -> Cluster {
        let mut settings = env.settings.clone();
        let mut cfg = test_config();
        tweak(&mut settings, &mut cfg);
        let a = Replica::start(settings.clone(), cfg.clone()).await;
        let b = Replica::start(settings.clone(), cfg).await;
        let (pool, bus) = platform::connect(&settings).await.unwrap();
        Cluster {
            keys: JwtKeys::new(&settings.auth),
            _env: env,
            a,
            b,
            pool,
            bus,
        }
    }

    /// A new user and an access token for them.
    pub async fn user(&self, name: &str) -> (UserId, String) {
        let username = format!("{name}{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
        let new = db::users::NewUserRow::new(&username, &format!("{username}@example.com"), "x");
        let row = db::run(&self.pool, move |c| db::users::insert(c, new))
            .await
            .unwrap();
        let token = self.keys.issue(row.id, &row.username, Role::User).unwrap();
        (row.id, token.token)
    }

    pub fn token_with_ttl(&self, user: UserId, ttl_secs: i64) -> String {
        self.keys
            .issue_with_ttl(user, "someone", Role::User, ttl_secs)
            .unwrap()
            .token
    }

    /// A conversation with `members` (the first is the owner).
    pub async fn conversation(&self, kind: ConversationKind, members: &[UserId]) -> ConversationId {
        let owner = members.first().copied();
        let list: Vec<(UserId, MemberRole)> = members
            .iter()
            .enumerate()
            .map(|(i, u)| {
                (
                    *u,
                    if i == 0 {
                        MemberRole::Owner
                    } else {
                        MemberRole::Member
                    },
                )
            })
            .collect();
        let new = NewConversationRow::new(kind, owner);
        db::run(&self.pool, move |c| {
            db::conversations::insert_with_members(c, new, &list)
        })
        .await
        .unwrap()
        .id
    }

    pub async fn group(&self, members: &[UserId]) -> ConversationId {
        self.conversation(ConversationKind::Group, members).await
    }

    /// Publishes an event straight on the log, as a worker or the API would.
    pub async fn publish(&self, conversation: ConversationId, event: ConversationEvent) -> u64 {
        self.bus
            .publish(conversation, &EventPayload::from(event))
            .await
            .unwrap()
            .offset
    }

    pub async fn publish_delta(&self, conversation: ConversationId, job: &str, text: &str) -> u64 {
        self.publish(
            conversation,
            ConversationEvent::Delta {
                job_id: job.to_owned(),
                attempt: 1,
                text: text.to_owned(),
            },
        )
        .await
    }
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A WebSocket client that reads JSON frames.
pub struct Client {
    pub ws: Ws,
}

impl Client {
    /// Connects to `/ws?token=…` and returns the client after its `ready` frame.
    pub async fn connect(replica: &Replica, token: &str) -> (Client, Value) {
        let mut c = Self::open(&replica.url(&format!("/ws?token={token}")))
            .await
            .unwrap_or_else(|e| panic!("connect failed: {e}"));
        let ready = c.expect("ready").await;
        (c, ready)
    }

    pub async fn open(url: &str) -> Result<Client, tungstenite::Error> {
        let (ws, _) = tokio_tungstenite::connect_async(url).await?;
        Ok(Client { ws })
    }

    /// Connects with `Authorization: Bearer`.
    pub async fn open_with_header(url: &str, token: &str) -> Result<Client, tungstenite::Error> {
        let mut req = url.into_client_request()?;
        req.headers_mut()
            .insert("Authorization", format!("Bearer {token}").parse().unwrap());
        let (ws, _) = tokio_tungstenite::connect_async(req).await?;
        Ok(Client { ws })
    }

    /// Connects over a socket with a tiny receive buffer, for a client that stops reading.
    pub async fn open_small_buffer(url: &str) -> Client {
        let addr = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let stream = socket.connect(addr).await.unwrap();
        let config = WebSocketConfig::default().read_buffer_size(4096);
        let (ws, _) = tokio_tungstenite::client_async_with_config(
            url,
            MaybeTlsStream::Plain(stream),
            Some(config),
        )
        .await
        .unwrap();
        Client { ws }
    }

    pub async fn send_json(&mut self, value: Value) {
        self.ws
            .send(Message::text(value.to_string()))
            .await
            .unwrap();
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text.to_owned())).await.unwrap();
    }

    /// The next JSON frame (pings are answered and skipped); panics on close or timeout.
    pub async fn next_json(&mut self) -> Value {
        match self.next_message(WAIT).await {
            Some(Message::Text(t)) => serde_json::from_str(t.as_str()).unwrap(),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// The next non-control message within `wait`, or `None` on timeout.
    pub async fn next_message(&mut self, wait: Duration) -> Option<Message> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .ok()?;
            match msg {
                Some(Ok(Message::Ping(_))) | Some(Ok(Message::Pong(_))) => continue,
                Some(Ok(m)) => return Some(m),
                Some(Err(e)) => panic!("websocket error: {e}"),
                None => panic!("websocket ended"),
            }
        }
    }

    /// The next frame of type `kind`, skipping presence frames (which arrive whenever members
    /// come and go); any other frame is a failure.
    pub async fn expect(&mut self, kind: &str) -> Value {
        loop {
            let v = self.next_json().await;
            if v["type"] == kind {
                return v;
            }
            if v["type"] == "presence" {
                continue;
            }
            panic!("expected a {kind} frame, got {v}");
        }
    }

    /// Skips frames until one matches.
    pub async fn until(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            let v = self.next_json().await;
            if pred(&v) {
                return v;
            }
        }
    }

    /// Asserts nothing but presence frames arrive for `wait`.
    pub async fn expect_silence(&mut self, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_message(left).await {
                None => return,
                Some(Message::Text(t)) => {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap();
                    assert_eq!(v["type"], "presence", "unexpected frame {v}");
                }
                Some(other) => panic!("unexpected {other:?}"),
            }
        }
    }

    /// Reads until the close frame and returns its code and reason.
    pub async fn expect_close(&mut self) -> (u16, String) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .expect("no close frame in time");
            match msg {
                Some(Ok(Message::Close(Some(frame)))) => {
                    return (u16::from(frame.code), frame.reason.to_string())
                }
                Some(Ok(Message::Close(None))) => return (1005, String::new()),
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("websocket error before close: {e}"),
                None => panic!("socket ended without a close frame"),
            }
        }
    }

    pub async fn subscribe(&mut self, conversation: ConversationId) -> Value {
        self.send_json(json!({"type": "subscribe", "id": "s", "conversation_id": conversation}))
            .await;
        self.expect("subscribed").await
    }

    pub async fn resume(
        &mut self,
        conversation: ConversationId,
        epoch: &str,
        offset: u64,
    ) -> Value {
        self.send_json(json!({
            "type": "subscribe", "id": "r", "conversation_id": conversation,
            "epoch": epoch, "offset": offset
        }))
        .await;
        self.expect("subscribed").await
    }

    /// The next `event` frame's (offset, event).
    pub async fn event(&mut self) -> (u64, Value) {
        let v = self.expect("event").await;
        (v["offset"].as_u64().unwrap(), v["event"].clone())
    }
}

/// Waits until `cond` holds (polling), or panics with `what`.
pub async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The HTTP status and JSON body of a refused upgrade.
pub async fn refused(url: &str) -> (u16, Value) {
    match tokio_tungstenite::connect_async(url).await {
        Err(tungstenite::Error::Http(resp)) => {
            let status = resp.status().as_u16();
            let body = resp.body().clone().unwrap_or_default();
            (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
        }
        Err(e) => panic!("expected an HTTP refusal, got {e}"),
        Ok(_) => panic!("expected an HTTP refusal, the upgrade succeeded"),
    }
}
