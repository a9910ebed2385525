//! The registry of configured providers: `provider/model` ids, aliases, a default model and
//! fallback chains.

use std::{collections::HashMap, sync::Arc};

use futures_util::future::BoxFuture;

use crate::{
    providers::{anthropic, gemini, mock, openai},
    retry::RetryPolicy,
    Anthropic, ChatModel, ChatRequest, ChatStream, Gemini, LlmError, Mock, OpenAiCompatible,
    Retrying, Timeouts,
};

/// What the router is built from; services map their settings into it. Providers without a key
/// are not registered (`compat` needs a base URL; its key is optional). `mock` is always there.
#[derive(Clone)]
pub struct RouterConfig {
    pub openai_api_key: Option<String>,
    /// Default: `https://api.openai.com/v1`.
    pub openai_base_url: Option<String>,
    pub anthropic_api_key: Option<String>,
    /// Default: `https://api.anthropic.com`.
    pub anthropic_base_url: Option<String>,
    pub gemini_api_key: Option<String>,
    /// Default: `https://generativelanguage.googleapis.com`.
    pub gemini_base_url: Option<String>,
    /// An OpenAI-compatible server (Ollama, vLLM, OpenRouter): models `compat/<model>`.
    pub compat_base_url: Option<String>,
    pub compat_api_key: Option<String>,
    /// The mock's speed in words per second.
    pub mock_tokens_per_sec: f64,
    /// Model id (or alias) used when a request names none. When unset: the first configured of
    /// `openai/gpt-4o-mini`, `anthropic/claude-3-5-haiku-latest`, `gemini/gemini-1.5-flash`,
    /// else `mock/echo`.
    pub default_model: Option<String>,
    /// `alias → model id or alias`, e.g. `fast → openai/gpt-4o-mini`.
    pub aliases: HashMap<String, String>,
    /// `model id → ids (or aliases) to try in order` when it fails before the first token.
    pub fallbacks: HashMap<String, Vec<String>>,
    pub timeouts: Timeouts,
    pub retry: RetryPolicy,
}

impl Default for RouterConfig {
    fn default() -> Self {
        Self {
            openai_api_key: None,
            openai_base_url: None,
            anthropic_api_key: None,
            anthropic_base_url: None,
            gemini_api_key: None,
            gemini_base_url: None,
            compat_base_url: None,
            compat_api_key: None,
            mock_tokens_per_sec: 20.0,
            default_model: None,
            aliases: HashMap::new(),
            fallbacks: HashMap::new(),
            timeouts: Timeouts::default(),
            retry: RetryPolicy::default(),
        }
    }
}

impl std::fmt::Debug for RouterConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let key = |k: &Option<String>| k.as_ref().map(|_| "<redacted>");
        f.debug_struct("RouterConfig")
            .field("openai_api_key", &key(&self.openai_api_key))
            .field("openai_base_url", &self.openai_base_url)
            .field("anthropic_api_key", &key(&self.anthropic_api_key))
            .field("anthropic_base_url", &self.anthropic_base_url)
            .field("gemini_api_key", &key(&self.gemini_api_key))
            .field("gemini_base_url", &self.gemini_base_url)
            .field("compat_base_url", &self.compat_base_url)
            .field("compat_api_key", &key(&self.compat_api_key))
            .field("mock_tokens_per_sec", &self.mock_tokens_per_sec)
            .field("default_model", &self.default_model)
            .field("aliases", &self.aliases)
            .field("fallbacks", &self.fallbacks)
            .field("timeouts", &self.timeouts)
            .field("retry", &self.retry)
            .finish()
    }
}

const MOCK_DEFAULT: &str = "mock/echo";

/// Resolves model ids to ready-to-use models. Cheap to share (`Arc<Router>`).
pub struct Router {
    providers: HashMap<String, Arc<dyn ChatModel>>,
    aliases: HashMap<String, String>,
    fallbacks: HashMap<String, Vec<String>>,
    default_model: String,
    /// No real provider is configured: every model is served by the mock.
    mock_only: bool,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("providers", &self.providers())
            .field("default_model", &self.default_model)
            .field("mock_only", &self.mock_only)
            .finish_non_exhaustive()
    }
}

fn key(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|k| !k.is_empty())
}

impl Router {
    pub fn new(config: RouterConfig) -> Result<Self, LlmError> {
        let timeouts = config.timeouts;
        let retry = config.retry;
        let mut providers: HashMap<String, Arc<dyn ChatModel>> = HashMap::new();
        if let Some(api_key) = key(&config.openai_api_key) {
            let base = config
                .openai_base_url
                .as_deref()
                .unwrap_or(openai::DEFAULT_BASE_URL);
            let model = OpenAiCompatible::new("openai", base, api_key, timeouts)?;
            providers.insert("openai".to_owned(), Arc::new(Retrying::new(model, retry)));
        }
        if let Some(base) = config.compat_base_url.as_deref().filter(|b| !b.is_empty()) {
            let api_key = key(&config.compat_api_key).unwrap_or("");
            let model = OpenAiCompatible::new("compat", base, api_key, timeouts)?;
            providers.insert("compat".to_owned(), Arc::new(Retrying::new(model, retry)));
        }
        if let Some(api_key) = key(&config.anthropic_api_key) {
            let base = config
                .anthropic_base_url
                .as_deref()
                .unwrap_or(anthropic::DEFAULT_BASE_URL);
            let model = Anthropic::new(base, api_key, timeouts)?;
            providers.insert(
                "anthropic".to_owned(),
                Arc::new(Retrying::new(model, retry)),
            );
        }
        if let Some(api_key) = key(&config.gemini_api_key) {
            let base = config
                .gemini_base_url
                .as_deref()
                .unwrap_or(gemini::DEFAULT_BASE_URL);
            let model = Gemini::new(base, api_key, timeouts)?;
            providers.insert("gemini".to_owned(), Arc::new(Retrying::new(model, retry)));
        }
        let mock_only = providers.is_empty();
        providers.insert(
            "mock".to_owned(),
            Arc::new(Mock::new(config.mock_tokens_per_sec)),
        );

        let default_model = if mock_only {
            tracing::info!(
                model = MOCK_DEFAULT,
                "no AI provider key configured: the mock provider answers every request"
            );
            MOCK_DEFAULT.to_owned()
        } else if let Some(model) = config.default_model.clone().filter(|m| !m.is_empty()) {
            model
        } else {
            [
                ("openai", "openai/gpt-4o-mini"),
                ("anthropic", "anthropic/claude-3-5-haiku-latest"),
                ("gemini", "gemini/gemini-1.5-flash"),
            ]
            .into_iter()
            .find(|(p, _)| providers.contains_key(*p))
            .map_or(MOCK_DEFAULT, |(_, m)| m)
            .to_owned()
        };
        let router = Self {
            providers,
            aliases: config.aliases,
            fallbacks: config.fallbacks,
            default_model,
            mock_only,
        };
        tracing::info!(providers = ?router.providers(), default_model = %router.default_model, "AI model router ready");
        Ok(router)
    }

    /// The registered provider names, sorted.
    pub fn providers(&self) -> Vec<String> {
        let mut names: Vec<String> = self.providers.keys().cloned().collect();
        names.sort();
        names
    }

    /// The model used when a request names none (may be an alias).
    pub fn default_model(&self) -> &str {
        &self.default_model
    }

    /// True when no real provider is configured and the mock serves everything.
    pub fn is_mock_only(&self) -> bool {
        self.mock_only
    }

    /// Follows aliases to a `provider/model` id.
    fn canonical(&self, name: &str) -> Result<String, LlmError> {
        let mut current = name.trim().to_owned();
        for _ in 0..8 {
            match self.aliases.get(&current) {
                Some(target) => current = target.trim().to_owned(),
                None => break,
            }
        }
        match current.split_once('/') {
            Some((p, m)) if !p.is_empty() && !m.is_empty() => Ok(current),
            _ => Err(LlmError::BadRequest(format!(
                "unknown model `{name}`: expected `provider/model` or a configured alias"
            ))),
        }
    }

    /// The model for `provider/model`, bound to its model name; `None` if the provider is not
    /// configured.
    fn bind(&self, id: &str) -> Option<Bound> {
        let (provider, model) = id.split_once('/')?;
        if self.mock_only {
            let model = if provider == "mock" {
                model
            } else {
                mock::DEFAULT_MODEL
            };
            return Some(Bound {
                id: format!("mock/{model}"),
                model: model.to_owned(),
                inner: self.providers.get("mock")?.clone(),
            });
        }
        Some(Bound {
            id: id.to_owned(),
            model: model.to_owned(),
            inner: self.providers.get(provider)?.clone(),
        })
    }

    /// The model for `model_or_alias` (or the default) and its full `provider/model` id.
    ///
    /// The returned model is bound to its model name (it overwrites `ChatRequest::model`),
    /// retries before the first token, and walks the configured fallback chain when the primary
    /// fails before the first token with an error another provider may not have. Providers that
    /// are not configured are skipped in the chain; with no real provider configured at all,
    /// every id resolves to the mock.
    pub fn resolve(
        &self,
        model_or_alias: Option<&str>,
    ) -> Result<(Arc<dyn ChatModel>, String), LlmError> {
        let requested = model_or_alias
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .unwrap_or(&self.default_model);
        let primary = self.canonical(requested)?;
        let mut ids = vec![primary.clone()];
        for fallback in self.fallbacks.get(&primary).into_iter().flatten() {
            let id = self.canonical(fallback)?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let mut links: Vec<Bound> = Vec::with_capacity(ids.len());
        for id in &ids {
            match self.bind(id) {
                Some(bound) if !links.iter().any(|l| l.id == bound.id) => links.push(bound),
                Some(_) => {}
                None => tracing::debug!(model = %id, "provider not configured; skipped"),
            }
        }
        let Some(first) = links.first() else {
            return Err(LlmError::BadRequest(format!(
                "model `{primary}` is not available: its provider has no API key configured"
            )));
        };
        let id = first.id.clone();
        if id != primary {
            tracing::warn!(requested = %primary, using = %id, "requested model unavailable; using the next in its chain");
        }
        let model: Arc<dyn ChatModel> = if links.len() == 1 {
            Arc::new(links.remove(0))
        } else {
            Arc::new(Chain { links })
        };
        Ok((model, id))
    }
}

/// A provider bound to one of its models.
struct Bound {
    id: String,
    model: String,
    inner: Arc<dyn ChatModel>,
}

impl ChatModel for Bound {
    fn stream(&self, mut req: ChatRequest) -> BoxFuture<'_, Result<ChatStream, LlmError>> {
        req.model.clone_from(&self.model);
        self.inner.stream(req)
    }
}

/// Tries each link in turn while the failure happens before the first token and another
/// provider may succeed. Links are [`Retrying`] providers: `stream` resolves only once the
/// first event is in hand, so any error it returns is a before-the-first-token error.
struct Chain {
    links: Vec<Bound>,
}

impl ChatModel for Chain {
    fn stream(&self, req: ChatRequest) -> BoxFuture<'_, Result<ChatStream, LlmError>> {
        Box::pin(async move {
            let mut last_error = None;
            for (i, link) in self.links.iter().enumerate() {
                match crate::retry::open_until_first_event(link, req.clone()).await {
                    Ok(stream) => {
                        if i > 0 {
                            tracing::warn!(model = %link.id, "served by a fallback model");
                        }
                        return Ok(stream);
                    }
                    Err(err) if err.should_fall_back() && i + 1 < self.links.len() => {
                        tracing::warn!(model = %link.id, error = %err, kind = err.kind(), "model failed before the first token; falling back");
                        last_error = Some(err);
                    }
                    Err(err) => return Err(err),
                }
            }
            Err(last_error.unwrap_or_else(|| LlmError::BadRequest("no model to try".into())))
        })
    }
}
