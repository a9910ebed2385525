//! Prometheus metrics through the `metrics` facade. One recorder per process (services started
//! in-process by tests share it), rendered at `/metrics`.

use std::sync::OnceLock;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Seconds buckets from 0.5 ms to 30 s: fits both REST latencies and LLM first-token times.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Installs the process-wide recorder once; later calls are no-ops.
pub fn install() {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS)
            .ok()?;
        match builder.install_recorder() {
            Ok(handle) => Some(handle),
            Err(e) => {
                tracing::warn!(error = %e, "metrics recorder not installed");
                None
            }
        }
    });
}

/// The Prometheus text exposition of every metric recorded in this process.
pub fn render() -> String {
    install();
    HANDLE
        .get()
        .and_then(|h| h.as_ref())
        .map(|h| h.render())
        .unwrap_or_default()
}

fn known_method(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Middleware: one span per request (method, path, request id), so what a handler logs — above
/// all the hidden cause of a 5xx, logged when the error is rendered — carries the request it
/// belongs to. The request id is the client's `X-Request-Id` when it sends a sane one, else new;
/// it is echoed in the response.
///
/// It is also the request's OpenTelemetry server span (issue 23): a child of the caller's
/// `traceparent` when it sends one, named `METHOD /route/{template}` once routing matched, with
/// the route template, the status, the user (recorded by the `AuthUser` extractor) and, for a
/// 5xx, error status and the cause (recorded where the error is rendered). `trace_id` and
/// `span_id` are fields of the span, so JSON log lines inside it carry them.
pub async fn request_span(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    use tracing::field::Empty;
    use tracing::Instrument;
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    let method = known_method(req.method());
    // Named at creation: once its context is read (the trace id for the logs, a child's
    // context for Redis) an OpenTelemetry span keeps its name. The resource map knows the
    // route template before routing.
    let route = req.match_pattern();
    let span = tracing::info_span!(
        "request",
        otel.name = %format_args!("{method} {}", route.as_deref().unwrap_or("unmatched")),
        otel.kind = "server",
        method = %method,
        path = %req.path(),
        request_id = %request_id,
        http.route = Empty,
        http.response.status_code = Empty,
        user.id = Empty,
        otel.status_code = Empty,
        otel.status_description = Empty,
        trace_id = Empty,
        span_id = Empty,
    );
    if crate::telemetry::exporting() {
        if let Some(parent) = incoming_trace(req.headers()) {
            parent.parent_of(&span);
        }
        crate::telemetry::record_ids(&span);
    }
    let result = next.call(req).instrument(span.clone()).await;
    let mut response = match result {
        Ok(response) => response,
        Err(e) => {
            span.record("otel.status_code", "ERROR");
            return Err(e);
        }
    };
    let status = response.status().as_u16();
    if let Some(route) = route {
        span.record("http.route", route);
    }
    span.record("http.response.status_code", status);
    if status >= 500 {
        span.record("otel.status_code", "ERROR");
    }
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static("x-request-id"),
            value,
        );
    }
    Ok(response)
}

/// The caller's W3C trace context from `traceparent` / `tracestate` (a bad one is ignored: the
/// request then starts its own trace).
fn incoming_trace(
    headers: &actix_web::http::header::HeaderMap,
) -> Option<domain::trace::TraceContext> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let traceparent = text("traceparent")?.to_owned();
    Some(domain::trace::TraceContext {
        traceparent,
        tracestate: text("tracestate").map(str::to_owned),
    })
}

/// Middleware: request count and latency by method, matched route pattern and status.
pub async fn track_http(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    // Only the methods HTTP defines become label values: each invented method (`FOO /x`)
    // would otherwise add series that live as long as the process.
    let method = known_method(req.method());
    let response = next.call(req).await?;
    // The route pattern is known only after routing, so read it from the response's request.
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = response.status().as_u16().to_string();
    let labels = [
        ("method", method.to_owned()),
        ("route", route),
        ("status", status),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    Ok(response)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use actix_web::{middleware::from_fn, test, web, App};

    use crate::ApiError;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    // Issue 13: a 5xx's cause was logged with nothing tying it to its request.
    #[actix_web::test]
    async fn a_server_errors_cause_is_logged_inside_its_requests_span() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let app = test::init_service(App::new().wrap(from_fn(super::request_span)).route(
            "/boom",
            web::get().to(|| async { Err::<String, _>(ApiError::internal("the disk is on fire")) }),
        ))
        .await;
        let req = test::TestRequest::get()
            .uri("/boom")
            .insert_header(("x-request-id", "req-42"))
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), 500);
        assert_eq!(res.headers().get("x-request-id").unwrap(), "req-42");
        let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let line = log
            .lines()
            .find(|l| l.contains("the disk is on fire"))
            .unwrap_or_else(|| panic!("cause logged: {log}"));
        assert!(line.contains("request_id=req-42"), "{line}");
        assert!(line.contains("path=/boom"), "{line}");
    }
}
