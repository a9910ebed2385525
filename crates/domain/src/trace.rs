//! W3C trace context (`traceparent`, `tracestate`) carried inside what crosses Redis — jobs,
//! conversation event envelopes, user-channel events — so one message's spans form one trace
//! across processes (issue 23). Always an optional field: payloads written without it (older
//! releases, tracing off) parse as before.
//!
//! The type is plain data. With the `otel` feature, [`TraceContext::current`] captures the
//! current `tracing` span's OpenTelemetry context and [`TraceContext::parent_of`] makes it the
//! parent of a span; without an OpenTelemetry layer installed both are cheap no-ops (`current`
//! finds no valid span context and returns `None`).

use serde::{Deserialize, Serialize};

/// A W3C trace context: `traceparent` (`00-<trace id>-<span id>-<flags>`) and the vendor
/// `tracestate`, exactly as the HTTP headers of the same names would carry them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceContext {
    pub traceparent: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracestate: Option<String>,
}

impl TraceContext {
    /// The trace id (32 hex digits) of a well-formed `traceparent`.
    pub fn trace_id(&self) -> Option<&str> {
        let mut parts = self.traceparent.split('-');
        let (_version, trace) = (parts.next()?, parts.next()?);
        (trace.len() == 32).then_some(trace)
    }
}

#[cfg(feature = "otel")]
mod otel {
    use std::str::FromStr;

    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    };
    use opentelemetry::Context;
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    use super::TraceContext;

    impl TraceContext {
        /// The context of the current span, if it has a valid OpenTelemetry one (an
        /// OpenTelemetry layer is installed and the span is recorded by it). Unsampled contexts
        /// are carried too: the receiver's parent-based sampler then keeps the decision, so a
        /// trace is never half-sampled across hops.
        pub fn current() -> Option<TraceContext> {
            Self::of(&tracing::Span::current())
        }

        /// The context of `span` (see [`TraceContext::current`]).
        pub fn of(span: &tracing::Span) -> Option<TraceContext> {
            if span.is_disabled() {
                return None;
            }
            let cx = span.context();
            let span_ref = cx.span();
            let sc = span_ref.span_context();
            if !sc.is_valid() {
                return None;
            }
            let state = sc.trace_state().header();
            Some(TraceContext {
                traceparent: format!(
                    "00-{}-{}-{:02x}",
                    sc.trace_id(),
                    sc.span_id(),
                    sc.trace_flags().to_u8()
                ),
                tracestate: (!state.is_empty()).then_some(state),
            })
        }

        /// The remote OpenTelemetry context this names; `None` when `traceparent` is malformed
        /// (a peer's bad header must not fail anything, it only starts a new trace).
        pub fn to_context(&self) -> Option<Context> {
            let mut parts = self.traceparent.trim().split('-');
            let version = parts.next()?;
            let (trace, span, flags) = (parts.next()?, parts.next()?, parts.next()?);
            if version.len() != 2 || version == "ff" || (version == "00" && parts.next().is_some())
            {
                return None;
            }
            if trace.len() != 32 || span.len() != 16 {
                return None;
            }
            let trace = TraceId::from_hex(trace).ok()?;
            let span = SpanId::from_hex(span).ok()?;
            let flags = u8::from_str_radix(flags, 16).ok()?;
            let state = self
                .tracestate
                .as_deref()
                .and_then(|s| TraceState::from_str(s).ok())
                .unwrap_or_default();
            let sc = SpanContext::new(
                trace,
                span,
                TraceFlags::new(flags) & TraceFlags::SAMPLED,
                true,
                state,
            );
            sc.is_valid()
                .then(|| Context::new().with_remote_span_context(sc))
        }

        /// Makes this context the parent of `span` (before it is entered). A malformed context
        /// leaves the span a root.
        pub fn parent_of(&self, span: &tracing::Span) {
            if let Some(cx) = self.to_context() {
                // Fails only when the span is not recorded by an OpenTelemetry layer: then
                // there is nothing to link.
                let _ignored = span.set_parent(cx);
            }
        }

        /// Adds this context to `span` as a link (for work that follows from it without being
        /// part of it).
        pub fn link_from(&self, span: &tracing::Span) {
            if let Some(cx) = self.to_context() {
                span.add_link(cx.span().span_context().clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absent_context_parses_and_is_not_written() {
        #[derive(Debug, Serialize, Deserialize, PartialEq)]
        struct Carrier {
            x: u8,
            #[serde(default, skip_serializing_if = "Option::is_none")]
            trace: Option<TraceContext>,
        }
        let old: Carrier = serde_json::from_str(r#"{"x":1}"#).unwrap();
        assert_eq!(old.trace, None);
        assert_eq!(serde_json::to_string(&old).unwrap(), r#"{"x":1}"#);
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let new: Carrier =
            serde_json::from_str(&format!(r#"{{"x":1,"trace":{{"traceparent":"{tp}"}}}}"#))
                .unwrap();
        let trace = new.trace.unwrap();
        assert_eq!(trace.trace_id(), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
    }

    #[cfg(feature = "otel")]
    #[test]
    fn traceparent_round_trips_and_bad_ones_are_refused() {
        use opentelemetry::trace::TraceContextExt;
        let tc = TraceContext {
            traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
            tracestate: Some("vendor=x".into()),
        };
        let cx = tc.to_context().unwrap();
        let sc = cx.span().span_context().clone();
        assert!(sc.is_remote() && sc.is_sampled());
        assert_eq!(
            sc.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(sc.span_id().to_string(), "00f067aa0ba902b7");
        assert_eq!(sc.trace_state().header(), "vendor=x");
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01",
            "00-xyz-00f067aa0ba902b7-01",
        ] {
            let tc = TraceContext {
                traceparent: bad.into(),
                tracestate: None,
            };
            assert!(tc.to_context().is_none(), "{bad}");
        }
        assert_eq!(
            TraceContext::current(),
            None,
            "no OpenTelemetry layer installed"
        );
    }
}
