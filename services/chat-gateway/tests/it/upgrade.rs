//! The upgrade path itself (platform::upgrade): the socket is taken out of the HTTP server after
//! the `101`, bytes the client sent along with its handshake are kept, and upgrade requests that
//! are not accepted get the JSON error every service uses, then the connection closes.

use serde_json::Value;
use testkit::services::Backend;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::{refused, Client, Cluster, WAIT};

fn upgrade_request(path_and_query: &str) -> String {
    format!(
        "GET {path_and_query} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
}

/// A client text frame (masked, as RFC 6455 requires of clients), payload under 126 bytes.
fn masked_text(payload: &str) -> Vec<u8> {
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut frame = vec![0x81, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.bytes().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// Reads the HTTP response head; returns it and the bytes read past it.
async fn read_head(stream: &mut TcpStream) -> (String, Vec<u8>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            return (head, buf[end + 4..].to_vec());
        }
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "connection closed before the response head");
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[tokio::test]
async fn a_frame_sent_in_the_same_packet_as_the_handshake_is_answered() {
    let c = Cluster::start(Backend::Sqlite).await;
    let (_, token) = c.user("alice").await;
    let mut stream = TcpStream::connect(("127.0.0.1", c.a.port)).await.unwrap();
    let mut bytes = upgrade_request(&format!("/ws?token={token}")).into_bytes();
    bytes.extend(masked_text(r#"{"type":"ping","id":"early"}"#));
    stream.write_all(&bytes).await.unwrap();

    let (head, rest) = read_head(&mut stream).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let ws = WebSocketStream::from_partially_read(
        MaybeTlsStream::Plain(stream),
        rest,
        Role::Client,
        None,
    )
    .await;
    let mut client = Client { ws };
    client.expect("ready").await;
    assert_eq!(client.expect("pong").await["id"], "early");
}

#[tokio::test]
async fn refused_upgrades_get_the_json_error_and_the_connection_closes() {
    let c = Cluster::start(Backend::Sqlite).await;
    let (_, token) = c.user("alice").await;

    // An upgrade to a path that is not a socket: the app's 404, then EOF.
    let mut stream = TcpStream::connect(("127.0.0.1", c.a.port)).await.unwrap();
    stream
        .write_all(upgrade_request(&format!("/api/v1/nothing?token={token}")).as_bytes())
        .await
        .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8(response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 404"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("connection: close"),
        "{head}"
    );
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["code"], "not_found");

    // A plain GET of /ws (no upgrade headers) is answered by the ordinary HTTP path.
    let res = reqwest::Client::new()
        .get(c.a.http("/ws"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "bad_request");
    assert!(body["detail"]
        .as_str()
        .unwrap()
        .contains("expected a WebSocket upgrade"));

    // The server still takes sockets afterwards.
    let (_, ready) = Client::connect(&c.a, &token).await;
    assert_eq!(ready["type"], "ready");
}

/// One account cannot make a replica hold an unbounded number of sockets: over the cap the
/// upgrade is refused with 429 and the JSON body, on both socket forms; other users are not
/// affected, and a closed socket frees its place.
#[tokio::test]
async fn a_user_over_the_socket_cap_is_refused_before_the_upgrade() {
    let c = Cluster::start_with(Backend::Sqlite, |_, g| g.max_sockets_per_user = 2).await;
    let (alice_id, alice) = c.user("alice").await;
    let (_, bob) = c.user("bob").await;
    let conversation = c.group(&[alice_id]).await;

    let (mut first, _) = Client::connect(&c.a, &alice).await;
    let (_second, _) = Client::connect(&c.a, &alice).await;
    for path in [
        format!("/ws?token={alice}"),
        format!("/ws/{conversation}?token={alice}"),
    ] {
        let (status, body) = refused(&c.a.url(&path)).await;
        assert_eq!(status, 429, "{path}: {body}");
        assert_eq!(body["code"], "rate_limited", "{path}: {body}");
        assert!(
            body["detail"].as_str().unwrap().contains("at most 2"),
            "{path}: {body}"
        );
    }
    let (_bob, ready) = Client::connect(&c.a, &bob).await;
    assert_eq!(ready["type"], "ready");

    first.ws.close(None).await.unwrap();
    drop(first);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match Client::open(&c.a.url(&format!("/ws?token={alice}"))).await {
            Ok(mut again) => {
                again.expect("ready").await;
                break;
            }
            Err(e) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the closed socket's place was not freed: {e}"
                );
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}
