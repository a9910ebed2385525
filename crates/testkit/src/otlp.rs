//! An OTLP/HTTP trace receiver on `127.0.0.1:0`, written for the tests (issue 23): it accepts
//! `POST /v1/traces` with the real protobuf body (`ExportTraceServiceRequest`, decoded with
//! `opentelemetry-proto`'s generated types), keeps every span with the `service.name` of the
//! process that sent it, and answers as a collector does. Point a service at it with
//! `OTEL_EXPORTER_OTLP_ENDPOINT=<endpoint()>`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::{status::StatusCode, Span};
use prost::Message;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// One received span and the service that sent it.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    /// `service.name` of the span's resource.
    pub service: String,
    pub span: Span,
}

impl ReceivedSpan {
    pub fn name(&self) -> &str {
        &self.span.name
    }

    pub fn trace_id(&self) -> String {
        hex(&self.span.trace_id)
    }

    pub fn span_id(&self) -> String {
        hex(&self.span.span_id)
    }

    /// The parent's span id, `None` for a root.
    pub fn parent_id(&self) -> Option<String> {
        (!self.span.parent_span_id.is_empty()).then(|| hex(&self.span.parent_span_id))
    }

    /// An attribute's value as text (strings as they are, numbers and booleans printed).
    pub fn attr(&self, key: &str) -> Option<String> {
        self.span
            .attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref())
            .map(text)
    }

    pub fn is_error(&self) -> bool {
        self.span
            .status
            .as_ref()
            .is_some_and(|s| s.code == StatusCode::Error as i32)
    }

    pub fn status_message(&self) -> String {
        self.span
            .status
            .as_ref()
            .map(|s| s.message.clone())
            .unwrap_or_default()
    }

    /// Every text the span carries: name, status message, attribute keys and values, and its
    /// events' names and attributes, and links' attributes — what a "never exported" check must
    /// search.
    pub fn all_text(&self) -> Vec<String> {
        let mut out = vec![self.span.name.clone(), self.status_message()];
        let mut push_attrs = |attrs: &[KeyValue]| {
            for kv in attrs {
                out.push(kv.key.clone());
                if let Some(v) = &kv.value {
                    out.push(text(v));
                }
            }
        };
        push_attrs(&self.span.attributes);
        for event in &self.span.events {
            push_attrs(&event.attributes);
        }
        for link in &self.span.links {
            push_attrs(&link.attributes);
        }
        for event in &self.span.events {
            out.push(event.name.clone());
        }
        out
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn text(value: &AnyValue) -> String {
    match &value.value {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::BytesValue(b)) => String::from_utf8_lossy(b).into_owned(),
        Some(any_value::Value::ArrayValue(a)) => {
            a.values.iter().map(text).collect::<Vec<_>>().join(",")
        }
        Some(any_value::Value::KvlistValue(kv)) => kv
            .values
            .iter()
            .map(|kv| {
                format!(
                    "{}={}",
                    kv.key,
                    kv.value.as_ref().map(text).unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join(","),
        // Indexes into a dictionary this receiver is never sent (profiles only).
        Some(_) | None => String::new(),
    }
}

/// The receiver; serves until dropped.
pub struct OtlpReceiver {
    addr: SocketAddr,
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
    requests: Arc<Mutex<usize>>,
    accept: JoinHandle<()>,
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl OtlpReceiver {
    pub async fn start() -> OtlpReceiver {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port for the OTLP receiver");
        let addr = listener.local_addr().expect("local address");
        let spans = Arc::new(Mutex::new(Vec::new()));
        let requests = Arc::new(Mutex::new(0));
        let (store, count) = (spans.clone(), requests.clone());
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (store, count) = (store.clone(), count.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(store.clone(), count.clone(), req));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        OtlpReceiver {
            addr,
            spans,
            requests,
            accept,
        }
    }

    /// The value for `OTEL_EXPORTER_OTLP_ENDPOINT` (exporters append `/v1/traces`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.spans.lock().unwrap().clone()
    }

    /// How many export requests were decoded.
    pub fn export_requests(&self) -> usize {
        *self.requests.lock().unwrap()
    }

    /// Waits up to `timeout` until `done` holds for the spans received, and returns them
    /// (whether or not it came to hold: the caller's assertions say what is missing).
    pub async fn wait_until(
        &self,
        timeout: Duration,
        done: impl Fn(&[ReceivedSpan]) -> bool,
    ) -> Vec<ReceivedSpan> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let spans = self.spans();
            if done(&spans) || tokio::time::Instant::now() >= deadline {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn handle(
    store: Arc<Mutex<Vec<ReceivedSpan>>>,
    count: Arc<Mutex<usize>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let respond = |status: u16, body: Bytes| {
        Response::builder()
            .status(status)
            .header("content-type", "application/x-protobuf")
            .body(Full::new(body))
            .unwrap()
    };
    if req.method() != hyper::Method::POST || req.uri().path() != "/v1/traces" {
        return Ok(respond(404, Bytes::new()));
    }
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(respond(400, Bytes::new())),
    };
    let Ok(export) = ExportTraceServiceRequest::decode(body) else {
        return Ok(respond(400, Bytes::new()));
    };
    let mut received = Vec::new();
    for resource_spans in export.resource_spans {
        let service = resource_spans
            .resource
            .as_ref()
            .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
            .and_then(|kv| kv.value.as_ref())
            .map(text)
            .unwrap_or_default();
        for scope in resource_spans.scope_spans {
            for span in scope.spans {
                received.push(ReceivedSpan {
                    service: service.clone(),
                    span,
                });
            }
        }
    }
    store.lock().unwrap().extend(received);
    *count.lock().unwrap() += 1;
    let answer = ExportTraceServiceResponse::default().encode_to_vec();
    Ok(respond(200, Bytes::from(answer)))
}
