//! Tracing: human-readable locally, JSON lines in production; and OpenTelemetry traces exported
//! over OTLP/HTTP (protobuf) when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set (issue 23).
//!
//! Without an endpoint there is no OpenTelemetry layer at all: spans cost what `tracing` spans
//! cost, nothing is sampled, buffered or sent, and no trace context is written into what
//! crosses Redis ([`domain::trace::TraceContext::current`] finds none).
//!
//! The standard variables are honoured: `OTEL_TRACES_SAMPLER` (`parentbased_always_on` by
//! default; `parentbased_traceidratio` with `OTEL_TRACES_SAMPLER_ARG=0.1` keeps 10 % of new
//! traces and follows the caller's decision for the rest), `OTEL_SERVICE_NAME` (default: the
//! service's own name), `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_EXPORTER_OTLP_HEADERS`,
//! `OTEL_EXPORTER_OTLP_TIMEOUT` and the batch processor's `OTEL_BSP_*`.

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

use crate::config::{LogFormat, LogSettings};

static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Whether this process exports traces. Hot paths (the gateway's per-event delivery span) ask
/// this first, so with tracing off they do no tracing work at all.
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// Flushes and stops the trace exporter when dropped: keep it alive for the life of `main`, so
/// spans of the last requests (a drain after SIGTERM included) are sent before the process ends.
#[must_use = "dropping it at once stops the trace exporter"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Sends what is buffered now and stops exporting (what `drop` does).
    pub fn shutdown(&mut self) {
        if let Some(provider) = self.provider.take() {
            EXPORTING.store(false, Ordering::Relaxed);
            if let Err(e) = provider.shutdown() {
                // The subscriber may be going away with the process: stderr is what is left.
                eprintln!("OpenTelemetry: flushing spans at shutdown failed: {e}");
            }
        }
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Installs the global subscriber without OpenTelemetry (tools, tests); a second call (tests
/// starting several services) is ignored.
pub fn init(settings: &LogSettings) {
    drop(install(settings, None));
}

/// Installs the global subscriber for `service` (`api-service`, …), with the OpenTelemetry
/// layer when an OTLP endpoint is configured. A second call in one process is ignored.
pub fn init_service(settings: &LogSettings, service: &'static str) -> Telemetry {
    let provider = match otlp_endpoint() {
        Some(_) => match tracer_provider(service) {
            Ok(provider) => Some(provider),
            Err(e) => {
                // Observability must not stop the service: log (once the subscriber is up).
                let telemetry = install(settings, None);
                tracing::error!(error = %e, "OpenTelemetry exporter not started; tracing to logs only");
                return telemetry;
            }
        },
        None => None,
    };
    let telemetry = install(settings, provider);
    if telemetry.provider.is_some() {
        tracing::info!(
            sampler = %sampler_description(),
            "exporting traces over OTLP/HTTP"
        );
    }
    telemetry
}

fn otlp_endpoint() -> Option<String> {
    [
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ]
    .iter()
    .filter_map(|v| std::env::var(v).ok())
    .map(|v| v.trim().to_owned())
    .find(|v| !v.is_empty())
}

fn install(settings: &LogSettings, provider: Option<SdkTracerProvider>) -> Telemetry {
    let filter = EnvFilter::try_new(&settings.filter).unwrap_or_else(|_| EnvFilter::new("info"));
    // Per-layer filters: `RUST_LOG` decides what is logged, not what is traced, so a quiet log
    // (`warn`) still exports the spans (all at `info`). With no OpenTelemetry layer a span the
    // log filter disables is disabled everywhere: no cost.
    let format = match settings.format {
        LogFormat::Json => fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_filter(filter)
            .boxed(),
        LogFormat::Pretty => fmt::layer().compact().with_filter(filter).boxed(),
    };
    let otel = provider.as_ref().map(|p| {
        tracing_opentelemetry::layer()
            .with_tracer(p.tracer("chat-platform"))
            // Busy/idle times are noise on every span; the duration is what matters.
            .with_tracked_inactivity(false)
            .with_filter(tracing_subscriber::filter::LevelFilter::INFO)
    });
    let installed = tracing_subscriber::registry()
        .with(format)
        .with(otel)
        .try_init()
        .is_ok();
    if installed && provider.is_some() {
        EXPORTING.store(true, Ordering::Relaxed);
        Telemetry { provider }
    } else {
        if let Some(p) = provider {
            let _ignored = p.shutdown();
        }
        Telemetry { provider: None }
    }
}

fn tracer_provider(service: &'static str) -> anyhow::Result<SdkTracerProvider> {
    use opentelemetry_otlp::{Protocol, WithExportConfig};
    // reqwest is built without a default TLS provider (see `llm`); building its client with
    // none installed panics, also for a plain-HTTP collector. Err: one is installed already.
    let _ignored = rustls::crypto::ring::default_provider().install_default();
    // The endpoint, headers and timeout come from the standard OTEL_EXPORTER_OTLP_* variables
    // (`<endpoint>/v1/traces`).
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .build()?;
    let mut resource = opentelemetry_sdk::Resource::builder();
    if std::env::var("OTEL_SERVICE_NAME").map_or(true, |v| v.trim().is_empty()) {
        resource = resource.with_service_name(service);
    }
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(sampler_from_env())
        .with_resource(resource.build())
        .build())
}

fn sampler_from_env() -> Sampler {
    sampler(
        std::env::var("OTEL_TRACES_SAMPLER").ok().as_deref(),
        std::env::var("OTEL_TRACES_SAMPLER_ARG").ok().as_deref(),
    )
}

fn sampler_description() -> String {
    format!(
        "{} {}",
        std::env::var("OTEL_TRACES_SAMPLER").unwrap_or_else(|_| "parentbased_always_on".into()),
        std::env::var("OTEL_TRACES_SAMPLER_ARG").unwrap_or_default()
    )
}

/// The sampler the standard variables name (OpenTelemetry's SDK environment specification);
/// unknown names fall back to the default, `parentbased_always_on`, and a missing or bad ratio
/// to 1.0.
pub(crate) fn sampler(name: Option<&str>, arg: Option<&str>) -> Sampler {
    let ratio = || {
        arg.and_then(|a| a.trim().parse::<f64>().ok())
            .filter(|r| (0.0..=1.0).contains(r))
            .unwrap_or(1.0)
    };
    match name.map(str::trim).unwrap_or("") {
        "always_on" => Sampler::AlwaysOn,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatioBased(ratio()),
        "parentbased_always_off" => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        "parentbased_traceidratio" => {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio())))
        }
        _ => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
    }
}

/// Records `trace_id` and `span_id` on `span` (both declared `tracing::field::Empty` on it) so
/// that every log line inside it names the trace it belongs to. Nothing when not exporting.
pub fn record_ids(span: &tracing::Span) {
    if !exporting() {
        return;
    }
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let cx = span.context();
    let otel = cx.span();
    let sc = otel.span_context();
    if sc.is_valid() {
        span.record("trace_id", tracing::field::display(sc.trace_id()));
        span.record("span_id", tracing::field::display(sc.span_id()));
    }
}

/// Marks `span` as failed with `cause` (the whole chain, as displayed). The span must declare
/// `otel.status_code` and `otel.status_description` (`tracing::field::Empty`).
pub fn record_error(span: &tracing::Span, cause: &dyn std::fmt::Display) {
    span.record("otel.status_code", "ERROR");
    span.record("otel.status_description", tracing::field::display(cause));
}

/// The whole cause chain of an error on one line (`outer: inner: root`).
pub fn cause_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut next = error.source();
    while let Some(e) = next {
        let text = e.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        next = e.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use opentelemetry_sdk::trace::Sampler;

    use super::sampler;

    #[test]
    fn the_standard_sampler_variables_are_understood() {
        let described = |s: Sampler| format!("{s:?}");
        assert_eq!(
            described(sampler(None, None)),
            described(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
        );
        assert_eq!(
            described(sampler(Some("parentbased_traceidratio"), Some("0.1"))),
            described(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
                0.1
            ))))
        );
        assert_eq!(
            described(sampler(Some("traceidratio"), Some("7"))),
            described(Sampler::TraceIdRatioBased(1.0)),
            "a ratio outside 0..=1 is refused"
        );
        assert_eq!(
            described(sampler(Some("always_off"), None)),
            described(Sampler::AlwaysOff)
        );
        assert_eq!(
            described(sampler(Some("nonsense"), None)),
            described(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
        );
    }

    #[test]
    fn a_cause_chain_names_every_cause_once() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("storing the reply")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(std::io::Error::other("disk full"));
        assert_eq!(super::cause_chain(&e), "storing the reply: disk full");
    }
}
