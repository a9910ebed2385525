//! A benchmark client: one real WebSocket, subscribed to one conversation, checking every event
//! for order, loss and duplicates and timing it. On a dropped socket it fails over to the next
//! replica and resumes from its last (epoch, offset), as a real client does.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Counters every client adds to, so the driver can see progress.
#[derive(Default)]
pub struct Shared {
    pub delivered: AtomicU64,
    pub subscribed: AtomicU64,
    pub resumed: AtomicU64,
    pub failed: AtomicU64,
}

pub struct Spec {
    /// Replicas in the order the client tries them.
    pub ports: Vec<u16>,
    pub token: String,
    pub conversation: i64,
    /// Subscribe right away (idle clients may connect first and subscribe later).
    pub subscribe: bool,
    /// Paces late subscriptions (a permit per subscribe in flight).
    pub gate: Option<Arc<tokio::sync::Semaphore>>,
    pub t0: Instant,
}

#[derive(Default, Debug)]
pub struct Outcome {
    pub delivered: u64,
    pub duplicates: u64,
    pub gaps: u64,
    pub latencies_us: Vec<u32>,
    /// When the client had resubscribed after losing its replica, and whether the gateway
    /// could replay what it missed.
    pub resumed_at: Option<Instant>,
    pub recovered: Option<bool>,
    pub error: Option<String>,
}

fn config() -> WebSocketConfig {
    // 10,000 clients in one process: keep each one's buffers small.
    WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(64 * 1024)
}

pub async fn connect(port: u16, token: &str) -> anyhow::Result<Ws> {
    let url = format!("ws://127.0.0.1:{port}/ws?token={token}");
    let (ws, _) = tokio::time::timeout(
        Duration::from_secs(30),
        tokio_tungstenite::connect_async_with_config(url, Some(config()), true),
    )
    .await
    .map_err(|_| anyhow::anyhow!("connect timed out"))??;
    Ok(ws)
}

/// The value of `"key":` in a flat scan of a frame (numbers and strings), without a full JSON
/// parse: at 100k frames/s the load generator must not become the bottleneck.
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let start = text.find(key)? + key.len();
    let rest = text[start..].trim_start_matches('"');
    let end = rest.find(['"', ',', '}', '|'])?;
    Some(&rest[..end])
}

/// Waits for a `subscribed` frame; returns (epoch, offset, recovered).
async fn await_subscribed(ws: &mut Ws) -> anyhow::Result<(String, u64, bool)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .map_err(|_| anyhow::anyhow!("no subscribed frame"))?;
        match msg {
            Some(Ok(Message::Text(t))) => {
                let t = t.as_str();
                if t.starts_with(r#"{"type":"subscribed""#) {
                    let epoch = field(t, r#""epoch":"#).unwrap_or_default().to_owned();
                    let offset = field(t, r#""offset":"#)
                        .and_then(|o| o.parse().ok())
                        .unwrap_or(0);
                    return Ok((epoch, offset, t.contains(r#""recovered":true"#)));
                }
                if t.starts_with(r#"{"type":"error""#) {
                    anyhow::bail!("subscribe refused: {t}");
                }
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.into()),
            None => anyhow::bail!("closed before subscribed"),
        }
    }
}

async fn subscribe(
    ws: &mut Ws,
    conversation: i64,
    resume: Option<(&str, u64)>,
) -> anyhow::Result<(String, u64, bool)> {
    let frame = match resume {
        Some((epoch, offset)) => format!(
            r#"{{"type":"subscribe","conversation_id":{conversation},"epoch":"{epoch}","offset":{offset}}}"#
        ),
        None => format!(r#"{{"type":"subscribe","conversation_id":{conversation}}}"#),
    };
    ws.send(Message::text(frame)).await?;
    await_subscribed(ws).await
}

/// Runs one client until `stop` turns true (or it cannot reach any replica).
pub async fn run(
    spec: Spec,
    shared: Arc<Shared>,
    mut subscribe_now: watch::Receiver<bool>,
    mut stop: watch::Receiver<bool>,
) -> Outcome {
    let mut out = Outcome::default();
    let mut port_index = 0;
    let mut ws = match connect(spec.ports[0], &spec.token).await {
        Ok(ws) => ws,
        Err(e) => {
            shared.failed.fetch_add(1, Ordering::Relaxed);
            out.error = Some(e.to_string());
            return out;
        }
    };
    if !spec.subscribe {
        // Idle: wait (reading, so pings are answered) until told to subscribe or stop.
        loop {
            tokio::select! {
                changed = subscribe_now.changed() => {
                    if changed.is_err() || *subscribe_now.borrow() { break }
                }
                _ = stop.changed() => return out,
                msg = ws.next() => if !matches!(msg, Some(Ok(_))) {
                    shared.failed.fetch_add(1, Ordering::Relaxed);
                    out.error = Some("closed while idle".into());
                    return out;
                },
            }
        }
    }
    let permit = match &spec.gate {
        Some(gate) => gate.clone().acquire_owned().await.ok(),
        None => None,
    };
    let subscribed = subscribe(&mut ws, spec.conversation, None).await;
    drop(permit);
    let (mut epoch, mut last) = match subscribed {
        Ok((e, o, _)) => (e, o),
        Err(e) => {
            shared.failed.fetch_add(1, Ordering::Relaxed);
            out.error = Some(e.to_string());
            return out;
        }
    };
    shared.subscribed.fetch_add(1, Ordering::Relaxed);

    loop {
        let msg = tokio::select! {
            _ = stop.changed() => break,
            msg = ws.next() => msg,
        };
        match msg {
            Some(Ok(Message::Text(t))) => {
                let t = t.as_str();
                if !t.starts_with(r#"{"type":"event""#) {
                    continue;
                }
                let Some(offset) = field(t, r#""offset":"#).and_then(|o| o.parse::<u64>().ok())
                else {
                    continue;
                };
                if offset <= last {
                    out.duplicates += 1;
                    continue;
                }
                if offset > last + 1 {
                    out.gaps += offset - last - 1;
                }
                last = offset;
                out.delivered += 1;
                shared.delivered.fetch_add(1, Ordering::Relaxed);
                if let Some(sent) = field(t, r#""text":"#).and_then(|s| s.parse::<u64>().ok()) {
                    let now = spec.t0.elapsed().as_micros() as u64;
                    out.latencies_us
                        .push(now.saturating_sub(sent).min(u32::MAX as u64) as u32);
                }
            }
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                // The replica went away: fail over and resume from (epoch, last).
                port_index += 1;
                let Some(port) = spec.ports.get(port_index).copied() else {
                    break;
                };
                // Real clients back off with jitter; so do we (0–250 ms).
                let jitter = (spec.conversation as u64 * 7919 + last * 31) % 250;
                tokio::time::sleep(Duration::from_millis(jitter)).await;
                let resumed = async {
                    let mut ws = connect(port, &spec.token).await?;
                    let sub = subscribe(&mut ws, spec.conversation, Some((&epoch, last))).await?;
                    anyhow::Ok((ws, sub))
                }
                .await;
                match resumed {
                    Ok((new_ws, (new_epoch, _, recovered))) => {
                        ws = new_ws;
                        epoch = new_epoch;
                        out.resumed_at = Some(Instant::now());
                        out.recovered = Some(recovered);
                        shared.resumed.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        shared.failed.fetch_add(1, Ordering::Relaxed);
                        out.error = Some(format!("resume failed: {e}"));
                        break;
                    }
                }
            }
            Some(Ok(_)) => {}
        }
    }
    let _ = ws.close(None).await;
    out
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn fields_are_scanned_from_event_frames() {
        let t = r#"{"type":"event","conversation_id":3,"epoch":"ab","offset":17,"event":{"v":1,"type":"delta","job_id":"b","attempt":1,"text":"12345|xxxx"}}"#;
        assert_eq!(field(t, r#""offset":"#), Some("17"));
        assert_eq!(field(t, r#""epoch":"#), Some("ab"));
        assert_eq!(field(t, r#""text":"#), Some("12345"));
    }
}
