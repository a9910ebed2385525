//! Starting admin-stats in-process and talking to it like an admin console does.

use admin_stats::startup::Application;
use chrono::NaiveDate;
use db::stats::{GenerationOutcome, GenerationRecord};
use domain::{CharacterId, Role, UserId};
use platform::JwtKeys;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use testkit::services::{Backend, TestEnv};

pub struct TestApp {
    pub base: String,
    pub env: TestEnv,
    pub http: reqwest::Client,
    pub db: db::DbPool,
    pub bus: bus::Bus,
    pub jwt: JwtKeys,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A user with an access token.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: UserId,
    pub token: String,
}

/// A response: status, headers, the body as text and as JSON (Null when not JSON).
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Reply {
    /// Asserts the status and, for errors, the shared problem body shape.
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        if status >= 400 {
            assert_eq!(self.body["status"], status, "error body: {}", self.text);
            assert!(self.body["code"].is_string(), "error body: {}", self.text);
            assert!(self.body["detail"].is_string(), "error body: {}", self.text);
            assert_eq!(
                self.headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok()),
                Some("application/problem+json"),
            );
        }
        self.body
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        let env = TestEnv::new(backend).await;
        let app = Application::build(env.settings.clone())
            .await
            .expect("admin-stats starts");
        let base = format!("http://127.0.0.1:{}", app.port());
        let db = app.state().db.clone();
        let bus = app.state().bus.clone();
        let jwt = JwtKeys::new(&env.settings.auth);
        let server = tokio::spawn(app.run_until_stopped());
        TestApp {
            base,
            env,
            http: reqwest::Client::new(),
            db,
            bus,
            jwt,
            server,
        }
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body read");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            text,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.request(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// A user straight in the database, with a freshly minted access token.
    pub async fn user_with(&self, username: &str, email: &str, role: Role) -> Session {
        let (name, mail) = (username.to_owned(), email.to_owned());
        let row = db::run(&self.db, move |c| {
            let row = db::users::insert(c, db::users::NewUserRow::new(&name, &mail, "$2b$04$x"))?;
            db::users::set_role(c, row.id, role)
        })
        .await
        .expect("user inserted");
        self.session(row.id, username, role)
    }

    pub fn session(&self, id: UserId, username: &str, role: Role) -> Session {
        Session {
            id,
            token: self.jwt.issue(id, username, role).expect("token").token,
        }
    }

    pub async fn user(&self, username: &str) -> Session {
        self.user_with(username, &format!("{username}@example.com"), Role::User)
            .await
    }

    pub async fn admin(&self, username: &str) -> Session {
        self.user_with(username, &format!("{username}@example.com"), Role::Admin)
            .await
    }

    pub async fn character(&self, owner: UserId, name: &str) -> CharacterId {
        let name = name.to_owned();
        db::run(&self.db, move |c| {
            db::characters::insert(c, db::characters::NewCharacterRow::new(owner, &name))
        })
        .await
        .expect("character inserted")
        .id
    }

    /// What the llm-worker records after storing a reply.
    #[allow(clippy::too_many_arguments)]
    pub async fn generation(
        &self,
        job: &str,
        user: UserId,
        character: Option<CharacterId>,
        model: &str,
        day: NaiveDate,
        outcome: GenerationOutcome,
        latency_ms: Option<i64>,
        tokens: (i64, i64),
    ) {
        let mut rec = GenerationRecord::new(job, user, model, day, outcome);
        rec.character_id = character;
        rec.latency_ms = latency_ms;
        rec.prompt_tokens = tokens.0;
        rec.completion_tokens = tokens.1;
        let (job, model) = (job.to_owned(), rec.model.clone());
        db::run(&self.db, move |c| {
            db::transaction(c, |c| {
                if outcome != GenerationOutcome::Failed {
                    db::usage::charge(c, &job, user, day, &model, tokens.0, tokens.1)?;
                }
                db::stats::record_generation(c, &rec)
            })
        })
        .await
        .expect("generation recorded");
    }
}

pub fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

/// Every admin route, with a path valid for `user` and `conversation`.
pub fn admin_routes(user: UserId, conversation: i64) -> Vec<(Method, String, Option<Value>)> {
    let u = user.0;
    vec![
        (Method::GET, "/api/v1/admin/users".to_owned(), None),
        (Method::GET, format!("/api/v1/admin/users/{u}"), None),
        (
            Method::PATCH,
            format!("/api/v1/admin/users/{u}"),
            Some(serde_json::json!({"role": "user"})),
        ),
        (
            Method::GET,
            format!("/api/v1/admin/users/{u}/conversations"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/admin/users/{u}/conversations/{conversation}/messages"),
            None,
        ),
        (Method::GET, format!("/api/v1/admin/users/{u}/usage"), None),
        (Method::GET, "/api/v1/admin/usage.csv".to_owned(), None),
        (Method::GET, "/api/v1/admin/stats/overview".to_owned(), None),
        (Method::GET, "/api/v1/admin/realtime".to_owned(), None),
    ]
}
