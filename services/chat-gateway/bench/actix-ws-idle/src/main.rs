//! Idle memory per WebSocket of a bare actix-ws server: `actix_ws::handle`, one task per socket
//! that sends one frame and then waits for client frames, nothing else (no authentication, no
//! hub, no queue of ours). It is the floor under any gateway built on actix-ws.
//!
//! `actix-ws-idle [N]` starts itself as the server (a child process, actix-web's default of one
//! worker per core), opens N sockets from a tokio-tungstenite client, 256 handshakes at a time
//! as `loadgen` does, waits 3 s and prints the server's RSS growth divided by N: the method of
//! `loadgen --scenarios idle`.

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

const PORT: u16 = 39_517;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("serve") {
        // The server gets its own process, so its RSS is its own.
        return serve().map_err(Into::into);
    }
    let n = match args.get(1) {
        Some(n) => n.parse()?,
        None => 10_000,
    };
    tokio::runtime::Runtime::new()?.block_on(measure(n))
}

fn serve() -> std::io::Result<()> {
    actix_web::rt::System::new().block_on(
        actix_web::HttpServer::new(|| {
            actix_web::App::new().route("/ws", actix_web::web::get().to(socket))
        })
        .backlog(4096)
        .max_connections(100_000)
        .bind(("127.0.0.1", PORT))?
        .run(),
    )
}

async fn socket(
    req: actix_web::HttpRequest,
    body: actix_web::web::Payload,
) -> actix_web::Result<actix_web::HttpResponse> {
    let (response, mut session, mut stream) = actix_ws::handle(&req, body)?;
    actix_web::rt::spawn(async move {
        let _ = session.text(r#"{"type":"ready"}"#).await;
        while let Some(Ok(msg)) = stream.recv().await {
            match msg {
                actix_ws::Message::Ping(p) => {
                    let _ = session.pong(&p).await;
                }
                actix_ws::Message::Close(_) => break,
                _ => {}
            }
        }
        let _ = session.close(None).await;
    });
    Ok(response)
}

fn rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

async fn measure(n: usize) -> Result<()> {
    let mut server = std::process::Command::new(std::env::current_exe()?)
        .arg("serve")
        .spawn()?;
    let pid = server.id();
    let result = clients(n, pid).await;
    let _ = server.kill();
    let _ = server.wait();
    result
}

async fn clients(n: usize, pid: u32) -> Result<()> {
    tokio::time::sleep(Duration::from_secs(2)).await;
    let base = rss(pid);
    let gate = Arc::new(tokio::sync::Semaphore::new(256));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut handles = Vec::with_capacity(n);
    for _ in 0..n {
        let (gate, mut stop, ready) = (gate.clone(), stop_rx.clone(), ready_tx.clone());
        handles.push(tokio::spawn(async move {
            let Ok(permit) = gate.acquire_owned().await else {
                return;
            };
            let url = format!("ws://127.0.0.1:{PORT}/ws");
            let Ok((mut ws, _)) = tokio_tungstenite::connect_async(url).await else {
                let _ = ready.send(false);
                return;
            };
            let ok = matches!(ws.next().await, Some(Ok(_)));
            drop(permit);
            let _ = ready.send(ok);
            loop {
                tokio::select! {
                    _ = stop.changed() => break,
                    m = ws.next() => if m.is_none() { break },
                }
            }
        }));
    }
    let mut ok = 0usize;
    for _ in 0..n {
        ok += usize::from(ready_rx.recv().await.ok_or("a client task ended early")?);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let connected = rss(pid);
    println!(
        "actix-ws: {ok}/{n} idle sockets, RSS {:.1} MB -> {:.1} MB: {:.2} KB per connection",
        base as f64 / 1e6,
        connected as f64 / 1e6,
        connected.saturating_sub(base) as f64 / ok.max(1) as f64 / 1024.0
    );
    stop_tx.send_replace(true);
    for h in handles {
        let _ = h.await;
    }
    Ok(())
}
