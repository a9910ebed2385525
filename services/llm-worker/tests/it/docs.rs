//! The worker's provider and retry variables are documented: a row of the README's
//! configuration table and a line of `.env.example` each, with the built-in default.

use platform::Settings;

/// (variable, its default as the docs write it).
fn documented() -> Vec<(&'static str, String)> {
    let d = Settings::defaults().expect("built-in defaults load");
    vec![
        ("APP__LLM__ANTHROPIC_BASE_URL", d.llm.anthropic_base_url),
        ("APP__LLM__GEMINI_BASE_URL", d.llm.gemini_base_url),
        (
            "APP__LLM__MAX_UPSTREAM_ATTEMPTS",
            d.llm.max_upstream_attempts.to_string(),
        ),
        (
            "APP__LLM__MAX_RETRY_WAIT_SECS",
            d.llm.max_retry_wait_secs.to_string(),
        ),
        (
            "APP__LLM__MAX_SCHEDULED_WAIT_SECS",
            d.llm.max_scheduled_wait_secs.to_string(),
        ),
        (
            "APP__LLM__OUTBOX_INTERVAL_MS",
            d.llm.outbox_interval_ms.to_string(),
        ),
        (
            "APP__LLM__OUTBOX_RELAY_AFTER_MS",
            d.llm.outbox_relay_after_ms.to_string(),
        ),
        (
            "APP__LLM__OUTBOX_RETENTION_SECS",
            d.llm.outbox_retention_secs.to_string(),
        ),
        ("APP__LLM__HEARTBEAT_MS", d.llm.heartbeat_ms.to_string()),
        ("APP__LLM__LEASE_MS", d.llm.lease_ms.to_string()),
        (
            "APP__LLM__RECLAIM_IDLE_MS",
            d.llm.reclaim_idle_ms.to_string(),
        ),
    ]
}

#[test]
fn provider_and_retry_variables_are_in_the_readme_and_env_example() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let env = std::fs::read_to_string(format!("{root}/.env.example")).unwrap();
    for (name, default) in documented() {
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `{name}`")))
            .unwrap_or_else(|| panic!("README has no configuration row for {name}"));
        assert!(
            row.contains(&default),
            "README row of {name} lacks {default}: {row}"
        );
        let line = env
            .lines()
            .find(|l| l.trim_start_matches("# ").starts_with(&format!("{name}=")))
            .unwrap_or_else(|| panic!(".env.example does not list {name}"));
        assert!(
            line.contains(&format!("{name}={default}")),
            ".env.example gives {name} another default: {line}"
        );
    }
}
