//! Configuration: built-in defaults → optional `config/default.toml` and `config/<environment>.toml`
//! → environment (`APP__SECTION__KEY`, plus the conventional `DATABASE_URL`, `REDIS_URL`,
//! `JWT_SECRET`, `*_API_KEY`). One plain struct that tests build directly.

use serde::Deserialize;

/// The JWT secret earlier versions shipped in `.env.example`. It is public, so it is refused
/// everywhere: anyone could sign `role: admin` with it.
pub const EXAMPLE_JWT_SECRET: &str = "change-me-development-only-secret-0123456789";

/// Where development keeps the JWT secret it generated, inside the data directory.
const DEV_SECRET_FILE: &str = "jwt-secret";

/// The built-in defaults, also the reference for every key (mirrored in `.env.example`).
const DEFAULTS: &str = r#"
environment = "development"
data_dir = "./.data"

[database]
url = "sqlite://./.data/chat.db"
pool_size = 16
migrate_on_start = true
connect_timeout_secs = 5

[redis]
url = "redis://127.0.0.1:6379"
key_prefix = ""
pool_size = 32
log_max_len = 10000
log_ttl_secs = 86400

[auth]
jwt_secret = ""
access_ttl_secs = 900
refresh_ttl_secs = 2592000
bcrypt_cost = 12
issuer = "chat-platform"

[http]
host = "127.0.0.1"
api_port = 8000
gateway_port = 3001
admin_port = 8002
worker_ops_port = 8003
body_limit_bytes = 1048576
cors_origins = []
trusted_proxies = []
metrics_token = ""
shutdown_timeout_secs = 20
workers = 0
web_dir = "web/dist"

[chat]
message_max_chars = 2000
strict_message_chars = 0
max_variants_per_turn = 32

[rate_limit]
login_per_minute = 10
register_per_hour = 20
sends_per_minute = 60

[llm]
default_model = ""
openai_api_key = ""
openai_base_url = "https://api.openai.com/v1"
anthropic_api_key = ""
anthropic_base_url = "https://api.anthropic.com"
gemini_api_key = ""
gemini_base_url = "https://generativelanguage.googleapis.com"
mock_tokens_per_sec = 40
max_concurrent_jobs = 64
max_deliveries = 3
compat_base_url = ""
compat_api_key = ""
aliases = {}
fallbacks = {}
connect_timeout_secs = 10
first_token_timeout_secs = 60
idle_timeout_secs = 30
max_retries = 3
max_upstream_attempts = 4
max_retry_wait_secs = 30
max_scheduled_wait_secs = 600
max_output_tokens = 1024
max_prompt_tokens = 0
allowed_models = []
temperature_max = 2.0
lorebook_scan_depth = 2
lorebook_token_budget = 1024
history_messages = 200
delta_coalesce_ms = 30
reclaim_idle_ms = 15000
reclaim_interval_ms = 1000
heartbeat_ms = 1000
lease_ms = 3000
cache_ttl_ms = 5000
outbox_interval_ms = 2000
outbox_relay_after_ms = 10000
outbox_retention_secs = 86400

[gateway]
queue_capacity = 256
max_queue_age_ms = 10000
send_buffer_bytes = 32768
max_frame_bytes = 65536
hard_max_frame_bytes = 131072
frames_per_sec = 20
frame_burst = 40
error_burst = 20
errors_per_min = 30
max_subscriptions = 200
max_inflight_ops = 8
max_connections = 100000
max_sockets_per_user = 16
heartbeat_interval_ms = 20000
idle_timeout_ms = 60000
max_replay = 2000
max_pending = 1024
typing_interval_ms = 2000
presence_ttl_ms = 30000
presence_refresh_ms = 10000
presence_poll_ms = 3000
presence_max_members = 100
registry_interval_ms = 5000
registry_ttl_ms = 15000
drain_timeout_ms = 5000

[log]
format = "pretty"
filter = "info"
"#;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Test,
    Production,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub environment: Environment,
    /// Local state of the embedded setup: the SQLite file, the generated development secret.
    pub data_dir: String,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub auth: AuthSettings,
    pub http: HttpSettings,
    pub chat: ChatSettings,
    pub rate_limit: RateLimitSettings,
    pub llm: LlmSettings,
    pub gateway: GatewaySettings,
    pub log: LogSettings,
}

/// chat-gateway's limits and timings (`APP__GATEWAY__*`); the gateway turns them into its
/// `GatewayConfig`, where each is explained. Durations in milliseconds. Unknown keys are
/// refused, so a misspelt variable is an error rather than silently ignored.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySettings {
    pub queue_capacity: usize,
    pub max_queue_age_ms: u64,
    pub send_buffer_bytes: usize,
    pub max_frame_bytes: usize,
    pub hard_max_frame_bytes: usize,
    pub frames_per_sec: u32,
    pub frame_burst: u32,
    pub error_burst: u32,
    pub errors_per_min: u32,
    pub max_subscriptions: usize,
    pub max_inflight_ops: usize,
    pub max_connections: usize,
    pub max_sockets_per_user: usize,
    pub heartbeat_interval_ms: u64,
    pub idle_timeout_ms: u64,
    pub max_replay: usize,
    pub max_pending: usize,
    pub typing_interval_ms: u64,
    pub presence_ttl_ms: u64,
    pub presence_refresh_ms: u64,
    pub presence_poll_ms: u64,
    pub presence_max_members: usize,
    pub registry_interval_ms: u64,
    pub registry_ttl_ms: u64,
    pub drain_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub url: String,
    pub pool_size: usize,
    /// Embedded/dev deployments migrate at start; production runs `api-service migrate` once.
    pub migrate_on_start: bool,
    pub connect_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RedisSettings {
    pub url: String,
    pub key_prefix: String,
    pub pool_size: usize,
    pub log_max_len: usize,
    pub log_ttl_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    pub jwt_secret: String,
    pub access_ttl_secs: i64,
    pub refresh_ttl_secs: i64,
    pub bcrypt_cost: u32,
    pub issuer: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HttpSettings {
    /// The address services listen on: loopback unless an operator opens it (containers set
    /// `0.0.0.0`).
    pub host: String,
    pub api_port: u16,
    pub gateway_port: u16,
    pub admin_port: u16,
    pub worker_ops_port: u16,
    pub body_limit_bytes: usize,
    /// Browser origins allowed to call the APIs. Empty: the app's own origins (the web client
    /// served by api-service, and the Vite dev server), never any origin.
    pub cors_origins: Vec<String>,
    /// Reverse proxies (CIDRs) whose `X-Forwarded-For`/`Forwarded` headers are believed; from
    /// anyone else the peer address is the client's.
    pub trusted_proxies: Vec<String>,
    /// When set, `/metrics` answers only requests bearing this token
    /// (`Authorization: Bearer …`).
    pub metrics_token: String,
    pub shutdown_timeout_secs: u64,
    /// actix worker threads; 0 means one per core.
    pub workers: usize,
    /// The built web client api-service serves at `/` (skipped when the folder is missing).
    pub web_dir: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ChatSettings {
    pub message_max_chars: usize,
    /// A stricter per-deployment limit (seed 001's 200-character rule); 0 disables it.
    pub strict_message_chars: usize,
    /// Variants an AI turn keeps (regenerate, issue 15); past it the oldest inactive one goes.
    pub max_variants_per_turn: usize,
}

impl ChatSettings {
    /// The limit a message is validated against.
    pub fn effective_max_chars(&self) -> usize {
        match self.strict_message_chars {
            0 => self.message_max_chars,
            strict => strict.min(self.message_max_chars),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct RateLimitSettings {
    pub login_per_minute: u32,
    pub register_per_hour: u32,
    pub sends_per_minute: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LlmSettings {
    pub default_model: String,
    pub openai_api_key: String,
    pub openai_base_url: String,
    pub anthropic_api_key: String,
    pub anthropic_base_url: String,
    pub gemini_api_key: String,
    pub gemini_base_url: String,
    pub mock_tokens_per_sec: u32,
    pub max_concurrent_jobs: usize,
    pub max_deliveries: u32,
    /// An OpenAI-compatible server (Ollama, vLLM, OpenRouter) serving `compat/<model>`; empty = off.
    pub compat_base_url: String,
    pub compat_api_key: String,
    /// `alias → model id or alias`, e.g. `fast = "openai/gpt-4o-mini"`.
    #[serde(default)]
    pub aliases: std::collections::HashMap<String, String>,
    /// `model id → ids (or aliases) tried in order` when it fails before the first token.
    #[serde(default)]
    pub fallbacks: std::collections::HashMap<String, Vec<String>>,
    pub connect_timeout_secs: u64,
    /// Request sent → first token of the reply.
    pub first_token_timeout_secs: u64,
    /// Longest silence between two chunks of a reply.
    pub idle_timeout_secs: u64,
    /// Retries of a provider call before its first token (backoff honours `retry-after`).
    pub max_retries: usize,
    /// Upstream requests one reply (or story) may make in all, retries, fallbacks and
    /// redeliveries included; counted in Redis per job id.
    pub max_upstream_attempts: u32,
    /// The longest `retry-after` waited out inside an attempt; a longer one schedules the job
    /// again for then instead of holding it.
    pub max_retry_wait_secs: u64,
    /// The longest `retry-after` a job is scheduled for; a longer one fails the reply at once
    /// (`rate_limited`, retryable) rather than keep the user waiting.
    pub max_scheduled_wait_secs: u64,
    /// Tokens reserved for (and requested as the limit of) one reply.
    pub max_output_tokens: u32,
    /// A cap on prompt tokens below the model's context window (cost control); 0 = no cap.
    pub max_prompt_tokens: usize,
    /// Models (`provider/model` ids or aliases) a conversation's settings may pick; the
    /// deployment default is always allowed. Empty = only the default.
    pub allowed_models: Vec<String>,
    /// The highest temperature a conversation may ask for (providers accept 0–2).
    pub temperature_max: f64,
    /// Messages a lorebook scans when it names no scan depth (SillyTavern's default is 2).
    pub lorebook_scan_depth: u32,
    /// A lorebook's token budget when it names none.
    pub lorebook_token_budget: u32,
    /// How many recent messages are loaded before trimming history to the context budget.
    pub history_messages: i64,
    /// Token deltas are coalesced into one event per this many milliseconds (the first token
    /// of a reply is sent at once).
    pub delta_coalesce_ms: u64,
    /// A job its worker left for redelivery (a retryable failure mid-reply, a database or Redis
    /// error) is retried by any worker after this long; also the longest a lease can be.
    pub reclaim_idle_ms: u64,
    /// How often a worker renews the lease of each job it runs.
    pub heartbeat_ms: u64,
    /// A running job's lease: a job whose worker has not renewed it for this long (the worker
    /// died or hangs) is taken over by another worker. Kept at least three heartbeats.
    pub lease_ms: u64,
    /// How often a worker looks for jobs to reclaim.
    pub reclaim_interval_ms: u64,
    /// How long a worker reuses common prompts, character cards and user names it loaded
    /// (edits reach replies after at most this); 0 = always read them.
    pub cache_ttl_ms: u64,
    /// How often every worker's relay scans the job outbox and looks for stuck replies.
    pub outbox_interval_ms: u64,
    /// An outbox row this old whose job Redis no longer knows is put on `llm.jobs` again; a
    /// `streaming` reply this old with neither a live job nor an outbox row is failed.
    pub outbox_relay_after_ms: u64,
    /// Outbox rows older than this are removed even if unfinished. At most the 24 h the bus
    /// remembers job ids, so an expired marker never makes a relay repeat an old job.
    pub outbox_retention_secs: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub format: LogFormat,
    pub filter: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration: {0}")]
    Invalid(String),
}

/// Conventional variable names read in addition to `APP__SECTION__KEY`.
const CONVENTIONAL_VARS: &[(&str, &str)] = &[
    ("APP_ENV", "environment"),
    ("DATABASE_URL", "database.url"),
    ("REDIS_URL", "redis.url"),
    ("JWT_SECRET", "auth.jwt_secret"),
    ("OPENAI_API_KEY", "llm.openai_api_key"),
    ("OPENAI_BASE_URL", "llm.openai_base_url"),
    ("ANTHROPIC_API_KEY", "llm.anthropic_api_key"),
    ("GEMINI_API_KEY", "llm.gemini_api_key"),
    ("RUST_LOG", "log.filter"),
];

impl Settings {
    /// The built-in defaults alone (what tests start from).
    pub fn defaults() -> Result<Settings, ConfigError> {
        Ok(config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml))
            .build()?
            .try_deserialize()?)
    }

    /// Loads defaults, then optional files under `config/`, then the process environment.
    pub fn load() -> Result<Settings, ConfigError> {
        Self::load_from(std::env::vars())
    }

    /// As [`Settings::load`], from an explicit set of variables (testable without touching the
    /// process environment).
    pub fn load_from(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings, ConfigError> {
        let vars: std::collections::HashMap<String, String> = vars.into_iter().collect();
        let environment = vars
            .get("APP_ENV")
            .or_else(|| vars.get("APP__ENVIRONMENT"))
            .cloned()
            .unwrap_or_else(|| "development".to_owned());
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml))
            .add_source(config::File::with_name("config/default").required(false))
            .add_source(config::File::with_name(&format!("config/{environment}")).required(false))
            .add_source(
                config::Environment::with_prefix("APP")
                    .prefix_separator("__")
                    .separator("__")
                    .list_separator(",")
                    .with_list_parse_key("http.cors_origins")
                    .with_list_parse_key("http.trusted_proxies")
                    .with_list_parse_key("llm.allowed_models")
                    .try_parsing(true)
                    .source(Some(vars.clone())),
            );
        for (var, key) in CONVENTIONAL_VARS {
            if let Some(value) = vars.get(*var).filter(|v| !v.is_empty()) {
                builder = builder.set_override(*key, value.as_str())?;
            }
        }
        let mut settings: Settings = builder.build()?.try_deserialize()?;
        if settings.auth.jwt_secret.is_empty() && settings.environment == Environment::Development {
            settings.auth.jwt_secret = development_secret(&settings.data_dir)?;
        }
        settings.validate()?;
        Ok(settings)
    }

    /// Refuses configurations that would be unsafe or cannot work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.auth.jwt_secret == EXAMPLE_JWT_SECRET || self.auth.jwt_secret.len() < 32 {
            return Err(ConfigError::Invalid(
                "JWT_SECRET: set a random secret of at least 32 characters (development generates one when it is unset); the old example secret is public and refused"
                    .to_owned(),
            ));
        }
        for cidr in &self.http.trusted_proxies {
            cidr.parse::<ipnet::IpNet>()
                .or_else(|_| cidr.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    ConfigError::Invalid(format!(
                        "http.trusted_proxies: {cidr:?} is not an address or CIDR"
                    ))
                })?;
        }
        if self.auth.access_ttl_secs <= 0 || self.auth.refresh_ttl_secs <= 0 {
            return Err(ConfigError::Invalid(
                "auth: token lifetimes must be positive".to_owned(),
            ));
        }
        if !(4..=31).contains(&self.auth.bcrypt_cost) {
            return Err(ConfigError::Invalid(
                "auth.bcrypt_cost: must be between 4 and 31".to_owned(),
            ));
        }
        if self.chat.max_variants_per_turn < 2 {
            return Err(ConfigError::Invalid(
                "chat.max_variants_per_turn: must be at least 2".to_owned(),
            ));
        }
        if self.chat.message_max_chars == 0 {
            return Err(ConfigError::Invalid(
                "chat.message_max_chars: must be positive".to_owned(),
            ));
        }
        Ok(())
    }

    /// Settings for a service started in-process by a test: loopback, port 0 (a free port), one
    /// worker thread, the lowest bcrypt cost, its own database and Redis key prefix.
    pub fn for_tests(
        database_url: &str,
        redis_url: &str,
        key_prefix: &str,
    ) -> Result<Settings, ConfigError> {
        let mut s = Self::defaults()?;
        s.environment = Environment::Test;
        s.database.url = database_url.to_owned();
        s.database.pool_size = 4;
        s.redis.url = redis_url.to_owned();
        s.redis.key_prefix = key_prefix.to_owned();
        s.redis.pool_size = 8;
        s.auth.bcrypt_cost = 4;
        s.auth.jwt_secret = random_secret();
        s.http.host = "127.0.0.1".to_owned();
        s.http.api_port = 0;
        s.http.gateway_port = 0;
        s.http.admin_port = 0;
        s.http.worker_ops_port = 0;
        s.http.workers = 1;
        s.http.shutdown_timeout_secs = 1;
        s.log.filter = "warn".to_owned();
        Ok(s)
    }

    pub fn is_development(&self) -> bool {
        self.environment != Environment::Production
    }
}

/// 256 random bits, hex.
fn random_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// The development JWT secret: generated on first start and kept in `data_dir` (mode 0600), so
/// tokens survive restarts and every service of `make run` signs and checks with the same one.
/// Services start together: the file appears whole or not at all (written aside, then
/// hard-linked into place, which fails if another process got there first).
fn development_secret(data_dir: &str) -> Result<String, ConfigError> {
    use std::io::Write;
    let invalid = |what: &str, e: std::io::Error| {
        ConfigError::Invalid(format!("development JWT secret in {data_dir}: {what}: {e}"))
    };
    let dir = std::path::Path::new(data_dir);
    let path = dir.join(DEV_SECRET_FILE);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return Ok(existing.trim().to_owned());
    }
    std::fs::create_dir_all(dir).map_err(|e| invalid("create the directory", e))?;
    let aside = dir.join(format!("{DEV_SECRET_FILE}.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&aside).map_err(|e| invalid("write", e))?;
    file.write_all(random_secret().as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| invalid("write", e))?;
    let linked = std::fs::hard_link(&aside, &path);
    let _ = std::fs::remove_file(&aside);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(invalid("store", e)),
    }
    std::fs::read_to_string(&path)
        .map(|s| s.trim().to_owned())
        .map_err(|e| invalid("read", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// A data directory of its own for each test that loads development settings.
    fn data_dir() -> (tempfile::TempDir, (String, String)) {
        let dir = tempfile::tempdir().unwrap();
        let var = ("APP__DATA_DIR".to_owned(), dir.path().display().to_string());
        (dir, var)
    }

    fn load(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let (_dir, var) = data_dir();
        let mut all = vars(pairs);
        all.push(var);
        Settings::load_from(all)
    }

    #[test]
    fn defaults_are_the_embedded_development_setup() {
        let s = load(&[]).unwrap();
        assert_eq!(s.environment, Environment::Development);
        assert!(s.database.url.starts_with("sqlite://"));
        assert_eq!(s.http.api_port, 8000);
        assert_eq!(s.http.gateway_port, 3001);
        assert_eq!(s.chat.effective_max_chars(), 2000);
        assert_eq!(s.http.host, "127.0.0.1", "loopback unless configured");
        assert!(s.http.trusted_proxies.is_empty() && s.http.metrics_token.is_empty());
    }

    // Issue 13, hole 1: `make run` signed tokens with the secret printed in `.env.example`.
    #[test]
    fn development_generates_a_private_secret_once_and_keeps_it() {
        let (dir, var) = data_dir();
        let first = Settings::load_from(vec![var.clone()]).unwrap();
        assert_ne!(first.auth.jwt_secret, EXAMPLE_JWT_SECRET);
        assert!(first.auth.jwt_secret.len() >= 32);
        let again = Settings::load_from(vec![var]).unwrap();
        assert_eq!(
            first.auth.jwt_secret, again.auth.jwt_secret,
            "kept across restarts"
        );
        let file = dir.path().join(DEV_SECRET_FILE);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "only the owner reads it");
        }
        let (_other, other_var) = data_dir();
        let elsewhere = Settings::load_from(vec![other_var]).unwrap();
        assert_ne!(elsewhere.auth.jwt_secret, first.auth.jwt_secret);
    }

    #[test]
    fn the_public_example_secret_is_refused_everywhere() {
        for env in ["development", "production"] {
            let err = load(&[("APP_ENV", env), ("JWT_SECRET", EXAMPLE_JWT_SECRET)]).unwrap_err();
            assert!(err.to_string().contains("JWT_SECRET"), "{env}: {err}");
        }
    }

    #[test]
    fn trusted_proxies_are_parsed_as_cidrs() {
        let s = load(&[("APP__HTTP__TRUSTED_PROXIES", "10.0.0.0/8,127.0.0.1")]).unwrap();
        assert_eq!(s.http.trusted_proxies, ["10.0.0.0/8", "127.0.0.1"]);
        let err = load(&[("APP__HTTP__TRUSTED_PROXIES", "not-a-net")]).unwrap_err();
        assert!(err.to_string().contains("trusted_proxies"), "{err}");
    }

    #[test]
    fn environment_overrides_nested_and_conventional_keys() {
        let s = load(&[
            ("APP__HTTP__API_PORT", "9100"),
            ("APP__CHAT__STRICT_MESSAGE_CHARS", "200"),
            (
                "APP__HTTP__CORS_ORIGINS",
                "https://a.example,https://b.example",
            ),
            ("DATABASE_URL", "postgres://u@db/chat"),
            ("REDIS_URL", "redis://cache:6379"),
        ])
        .unwrap();
        assert_eq!(s.http.api_port, 9100);
        assert_eq!(s.chat.effective_max_chars(), 200);
        assert_eq!(
            s.http.cors_origins,
            vec!["https://a.example", "https://b.example"]
        );
        assert_eq!(s.database.url, "postgres://u@db/chat");
        assert_eq!(s.redis.url, "redis://cache:6379");
    }

    #[test]
    fn production_refuses_the_example_secret() {
        let err = load(&[("APP_ENV", "production")]).unwrap_err();
        assert!(err.to_string().contains("JWT_SECRET"), "{err}");
        let ok = load(&[
            ("APP_ENV", "production"),
            ("JWT_SECRET", "a-real-secret-that-is-long-enough-123456"),
        ]);
        assert!(ok.is_ok());
    }

    #[test]
    fn worker_knobs_have_defaults_and_aliases_come_from_the_environment() {
        let s = load(&[
            ("APP__LLM__ALIASES__FAST", "openai/gpt-4o-mini"),
            ("APP__LLM__RECLAIM_IDLE_MS", "2000"),
        ])
        .unwrap();
        assert_eq!(
            s.llm.aliases.get("fast").map(String::as_str),
            Some("openai/gpt-4o-mini")
        );
        assert_eq!(s.llm.reclaim_idle_ms, 2000);
        assert!(s.llm.fallbacks.is_empty());
        assert_eq!(s.llm.max_output_tokens, 1024);
        assert_eq!(s.llm.delta_coalesce_ms, 30);
        assert_eq!(s.llm.cache_ttl_ms, 5000);
        let d = Settings::defaults().unwrap();
        assert!(d.llm.aliases.is_empty() && d.llm.compat_base_url.is_empty());
    }

    #[test]
    fn chat_setting_bounds_come_from_the_environment() {
        let d = Settings::defaults().unwrap();
        assert!(d.llm.allowed_models.is_empty());
        assert_eq!((d.llm.temperature_max, d.llm.lorebook_scan_depth), (2.0, 2));
        let s = load(&[
            (
                "APP__LLM__ALLOWED_MODELS",
                "openai/gpt-4o-mini,anthropic/claude-sonnet-4",
            ),
            ("APP__LLM__TEMPERATURE_MAX", "1.2"),
            ("APP__LLM__LOREBOOK_TOKEN_BUDGET", "300"),
        ])
        .unwrap();
        assert_eq!(
            s.llm.allowed_models,
            vec!["openai/gpt-4o-mini", "anthropic/claude-sonnet-4"]
        );
        assert_eq!(s.llm.temperature_max, 1.2);
        assert_eq!(s.llm.lorebook_token_budget, 300);
    }

    #[test]
    fn a_non_numeric_port_is_a_clear_error() {
        let err = load(&[("APP__HTTP__API_PORT", "eighty")]).unwrap_err();
        assert!(err.to_string().contains("api_port"), "{err}");
    }

    /// Every key of the built-in defaults, as the variable that sets it, with its default.
    fn default_variables() -> Vec<(String, String)> {
        let table: toml::Table = DEFAULTS.parse().unwrap();
        let mut out = Vec::new();
        for (section, value) in &table {
            match value {
                toml::Value::Table(keys) => {
                    for (key, value) in keys {
                        let value = match value {
                            toml::Value::String(s) => s.clone(),
                            toml::Value::Array(a) if a.is_empty() => String::new(),
                            // Maps (aliases, fallbacks) have one variable per entry.
                            toml::Value::Table(_) => continue,
                            other => other.to_string(),
                        };
                        let var =
                            format!("APP__{}__{}", section.to_uppercase(), key.to_uppercase());
                        out.push((var, value));
                    }
                }
                other => out.push((
                    format!("APP__{}", section.to_uppercase()),
                    other.as_str().map(str::to_owned).unwrap_or_default(),
                )),
            }
        }
        out
    }

    // Issue 13, item 1: `.env.example` lists every variable with its real default.
    #[test]
    fn env_example_lists_every_variable_with_its_real_default() {
        let example = include_str!("../../../.env.example");
        let listed: std::collections::HashMap<String, String> = example
            .lines()
            .map(|l| l.trim_start_matches('#').trim())
            .filter_map(|l| {
                let (var, rest) = l.split_once('=')?;
                let value = rest.split(char::is_whitespace).next().unwrap_or("");
                Some((var.trim().to_owned(), value.to_owned()))
            })
            .collect();
        let conventional: std::collections::HashMap<&str, &str> = CONVENTIONAL_VARS
            .iter()
            .map(|(var, key)| (*key, *var))
            .collect();
        let mut wrong = Vec::new();
        for (var, default) in default_variables() {
            // A conventional name (DATABASE_URL, …) stands for its APP__ twin.
            let key = var
                .trim_start_matches("APP__")
                .to_lowercase()
                .replacen("__", ".", 1);
            let names = [Some(var.as_str()), conventional.get(key.as_str()).copied()];
            let found = names
                .iter()
                .flatten()
                .find_map(|name| listed.get(*name).map(|v| (*name, v)));
            match found {
                None => wrong.push(format!("{var} is missing")),
                Some((name, value)) if *value != default => {
                    wrong.push(format!("{name}={value}, but the default is {default:?}"))
                }
                Some(_) => {}
            }
        }
        assert!(wrong.is_empty(), ".env.example:\n{}", wrong.join("\n"));
    }
}
