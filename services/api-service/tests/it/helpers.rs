//! Starting api-service in-process and talking to it like a client does.

use api_service::startup::Application;
use platform::Settings;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use testkit::services::{Backend, TestEnv};

pub struct TestApp {
    pub base: String,
    pub env: TestEnv,
    pub http: reqwest::Client,
    pub state: api_service::state::AppState,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A registered user as a client holds it.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: i64,
    #[allow(dead_code)] // kept for tests that need the name
    pub username: String,
    pub token: String,
    pub refresh: String,
}

/// A response: status, headers and the body as JSON (Null when empty or not JSON).
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Asserts the status and, for errors, the shared problem body shape.
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        if status >= 400 {
            assert_eq!(self.body["status"], status, "error body: {}", self.body);
            assert!(
                self.body["code"].is_string(),
                "error body has a code: {}",
                self.body
            );
            assert!(
                self.body["detail"].is_string(),
                "error body has a detail: {}",
                self.body
            );
        }
        self.body
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, configure: impl FnOnce(&mut Settings)) -> TestApp {
        let env = TestEnv::new(backend).await;
        let mut settings = env.settings.clone();
        configure(&mut settings);
        let app = Application::build(settings)
            .await
            .expect("api-service starts");
        let base = format!("http://127.0.0.1:{}", app.port());
        let state = app.state().clone();
        let server = tokio::spawn(app.run_until_stopped());
        TestApp {
            base,
            env,
            http: reqwest::Client::new(),
            state,
            server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.http.request(method, self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        Self::reply(req.send().await.expect("request sent")).await
    }

    pub async fn reply(resp: reqwest::Response) -> Reply {
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body read");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.request(Method::POST, path, Some(token), Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.request(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Reply {
        self.request(Method::PUT, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.request(Method::DELETE, path, Some(token), None).await
    }

    /// Sends raw bytes with a content type (for malformed-body tests).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let mut req = self
            .http
            .request(method, self.url(path))
            .header("Content-Type", content_type)
            .body(body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        Self::reply(req.send().await.expect("request sent")).await
    }

    pub async fn register(&self, username: &str) -> Session {
        let body = self
            .request(
                Method::POST,
                "/api/v1/auth/register",
                None,
                Some(json!({"username": username, "email": format!("{username}@example.com"), "password": "passw0rd-long"})),
            )
            .await
            .expect(201);
        Session {
            id: body["user"]["id"].as_i64().expect("user id"),
            username: username.to_owned(),
            token: body["access_token"].as_str().expect("token").to_owned(),
            refresh: body["refresh_token"].as_str().expect("refresh").to_owned(),
        }
    }

    /// Registers a user and makes them an admin directly in the database, then logs in again so
    /// the token carries the role.
    pub async fn admin(&self, username: &str) -> Session {
        let user = self.register(username).await;
        let id = domain::UserId(user.id);
        db::run(&self.state.db, move |c| {
            db::users::set_role(c, id, domain::Role::Admin)
        })
        .await
        .expect("promote");
        self.login(username).await
    }

    /// Logs `username` in again (the password every test user has): a new session.
    /// Every event in a conversation's log, oldest first, read straight from the bus.
    pub async fn events(&self, conversation: i64) -> Vec<domain::events::EventPayload> {
        let recovery = self
            .state
            .bus
            .read_since(domain::ConversationId(conversation), None, 0, 1000)
            .await
            .unwrap();
        recovery
            .entries
            .iter()
            .map(|e| e.decode().unwrap())
            .collect()
    }

    /// Stores an AI reply to `trigger` the way the worker does (job `reply-{trigger}`); its id.
    pub async fn store_reply(
        &self,
        conv: i64,
        trigger: i64,
        text: &str,
        status: domain::MessageStatus,
    ) -> i64 {
        let reply = db::messages::AssistantReply {
            conversation_id: domain::ConversationId(conv),
            character_id: None,
            job_id: format!("reply-{trigger}"),
            reply_to_id: Some(domain::MessageId(trigger)),
            content: text.into(),
            status,
            model: Some("mock/echo".into()),
            prompt_tokens: Some(10),
            completion_tokens: Some(3),
        };
        db::run(&self.state.db, move |c| {
            db::messages::upsert_assistant_reply(c, reply)
        })
        .await
        .unwrap()
        .id
        .0
    }

    pub async fn login(&self, username: &str) -> Session {
        let body = self
            .request(
                Method::POST,
                "/api/v1/auth/login",
                None,
                Some(json!({"username": username, "password": "passw0rd-long"})),
            )
            .await
            .expect(200);
        Session {
            id: body["user"]["id"].as_i64().expect("user id"),
            username: body["user"]["username"].as_str().expect("name").to_owned(),
            token: body["access_token"].as_str().expect("token").to_owned(),
            refresh: body["refresh_token"].as_str().expect("refresh").to_owned(),
        }
    }

    pub async fn character(&self, owner: &Session, name: &str, public: bool) -> i64 {
        self.post(
            "/api/v1/characters",
            &owner.token,
            json!({
                "name": name,
                "description": "A test character.",
                "personality": "curious",
                "greeting": "Hello {{user}}, I am {{char}}.",
                "system_prompt": "You are {{char}}.",
                "tags": ["test"],
                "visibility": if public { "public" } else { "private" },
            }),
        )
        .await
        .expect(201)["id"]
            .as_i64()
            .expect("character id")
    }

    /// A group room owned by `owner` ("Room"; public or private), its id.
    pub async fn group(&self, owner: &Session, public: bool) -> i64 {
        let visibility = if public { "public" } else { "private" };
        self.post(
            "/api/v1/conversations",
            &owner.token,
            json!({"kind": "group", "title": "Room", "visibility": visibility}),
        )
        .await
        .expect(201)["id"]
            .as_i64()
            .unwrap()
    }

    pub async fn ai_chat(&self, owner: &Session, character: i64) -> i64 {
        self.post(
            "/api/v1/conversations",
            &owner.token,
            json!({"kind": "ai_chat", "character_id": character}),
        )
        .await
        .expect(201)["id"]
            .as_i64()
            .expect("conversation id")
    }
}
