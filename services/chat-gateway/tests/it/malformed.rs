//! Every class of malformed frame gets an error frame naming the problem and the socket stays
//! open; what cannot continue is closed with its RFC code; abusive clients are closed (1008).

use futures_util::SinkExt;
use serde_json::json;
use testkit::services::Backend;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{Client, Cluster};

async fn still_open(client: &mut Client) {
    client
        .send_json(json!({"type": "ping", "id": "alive"}))
        .await;
    assert_eq!(client.expect("pong").await["id"], "alive");
}

#[tokio::test]
async fn each_malformed_frame_gets_a_named_error_and_the_socket_stays_open() {
    let c = Cluster::start(Backend::Sqlite).await;
    let (_, token) = c.user("alice").await;
    let (mut client, _) = Client::connect(&c.a, &token).await;

    let cases: [(&str, &str, &str); 6] = [
        ("{\"type\": \"ping\"", "bad_request", "malformed JSON"),
        ("hello", "bad_request", "malformed JSON"),
        (
            r#"{"type":"explode","id":"x1"}"#,
            "validation",
            "unknown variant `explode`",
        ),
        (
            r#"{"type":"subscribe","id":"x2"}"#,
            "validation",
            "missing field `conversation_id`",
        ),
        (
            r#"{"type":"subscribe","id":"x3","conversation_id":"seven"}"#,
            "validation",
            "invalid type",
        ),
        (
            r#"{"type":"ping","id":"x4","extra":1}"#,
            "validation",
            "unknown field `extra`",
        ),
    ];
    for (text, code, needle) in cases {
        client.send_text(text).await;
        let err = client.expect("error").await;
        assert_eq!(err["code"], code, "{text}: {err}");
        assert!(
            err["message"].as_str().unwrap().contains(needle),
            "{text}: {err}"
        );
        still_open(&mut client).await;
    }
    // The frame id is echoed even when the frame is otherwise wrong.
    client.send_text(r#"{"type":"explode","id":"x1"}"#).await;
    assert_eq!(client.expect("error").await["id"], "x1");

    client
        .ws
        .send(Message::Binary(vec![1u8, 2, 3].into()))
        .await
        .unwrap();
    let err = client.expect("error").await;
    assert_eq!(err["code"], "unsupported_media_type");
    still_open(&mut client).await;

    // Over the frame limit (64 KiB) but under the hard limit: refused, socket open.
    let big = format!(
        r#"{{"type":"send","conversation_id":1,"content":"{}"}}"#,
        "x".repeat(70 * 1024)
    );
    client.send_text(&big).await;
    let err = client.expect("error").await;
    assert_eq!(err["code"], "payload_too_large");
    assert!(err["message"].as_str().unwrap().contains("65536"));
    still_open(&mut client).await;
}

#[tokio::test]
async fn frames_beyond_the_hard_limit_or_not_utf8_close_the_socket() {
    let c = Cluster::start(Backend::Sqlite).await;
    let (_, token) = c.user("alice").await;

    let (mut client, _) = Client::connect(&c.a, &token).await;
    client.send_text(&"x".repeat(200 * 1024)).await;
    let err = client.expect("error").await;
    assert_eq!(err["code"], "payload_too_large");
    assert_eq!(client.expect_close().await.0, 1009);

    // A text frame whose bytes are not UTF-8: tungstenite refuses to build one, so send the
    // raw frame: FIN+text, masked, 2 bytes 0xC3 0x28.
    let (mut client, _) = Client::connect(&c.a, &token).await;
    let stream = client.ws.get_mut();
    let tokio_tungstenite::MaybeTlsStream::Plain(tcp) = stream else {
        panic!("plain tcp expected")
    };
    let mask = [1u8, 2, 3, 4];
    let payload = [0xC3u8 ^ mask[0], 0x28 ^ mask[1]];
    let frame = [
        0x81u8,
        0x80 | 2,
        mask[0],
        mask[1],
        mask[2],
        mask[3],
        payload[0],
        payload[1],
    ];
    tokio::io::AsyncWriteExt::write_all(tcp, &frame)
        .await
        .unwrap();
    assert_eq!(client.expect_close().await.0, 1007);
}

#[tokio::test]
async fn an_abusive_client_is_closed_with_1008() {
    let c = Cluster::start_with(Backend::Sqlite, |_, g| {
        g.error_burst = 5;
        g.frames_per_sec = 1_000;
        g.frame_burst = 1_000;
    })
    .await;
    let (_, token) = c.user("alice").await;
    let (mut client, _) = Client::connect(&c.a, &token).await;
    for _ in 0..10 {
        client.send_text("garbage").await;
    }
    for _ in 0..5 {
        assert_eq!(client.expect("error").await["code"], "bad_request");
    }
    let (code, reason) = client.expect_close().await;
    assert_eq!((code, reason.as_str()), (1008, "too many errors"));
}

#[tokio::test]
async fn frames_over_the_rate_are_refused_with_rate_limited() {
    let c = Cluster::start_with(Backend::Sqlite, |_, g| {
        g.frames_per_sec = 2;
        g.frame_burst = 3;
        g.error_burst = 100;
    })
    .await;
    let (_, token) = c.user("alice").await;
    let (mut client, _) = Client::connect(&c.a, &token).await;
    for i in 0..6 {
        client
            .send_json(json!({"type": "ping", "id": i.to_string()}))
            .await;
    }
    let mut pongs = 0;
    let mut limited = 0;
    for _ in 0..6 {
        let v = client.next_json().await;
        match v["type"].as_str() {
            Some("pong") => pongs += 1,
            Some("error") => {
                assert_eq!(v["code"], "rate_limited");
                limited += 1;
            }
            _ => panic!("{v}"),
        }
    }
    assert_eq!((pongs, limited), (3, 3));
}

#[tokio::test]
async fn subscriptions_per_connection_are_limited() {
    let c = Cluster::start_with(Backend::Sqlite, |_, g| g.max_subscriptions = 2).await;
    let (alice, token) = c.user("alice").await;
    let mut convs = Vec::new();
    for _ in 0..3 {
        convs.push(c.group(&[alice]).await);
    }
    let (mut client, _) = Client::connect(&c.a, &token).await;
    client.subscribe(convs[0]).await;
    client.subscribe(convs[1]).await;
    // Subscribing again to one already held is not a new subscription.
    client.subscribe(convs[1]).await;
    client
        .send_json(json!({"type": "subscribe", "id": "3", "conversation_id": convs[2]}))
        .await;
    let err = client.expect("error").await;
    assert_eq!(err["code"], "validation");
    assert!(err["message"].as_str().unwrap().contains("at most 2"));
}

/// The client's TCP stream under its WebSocket, to write frames tungstenite would refuse.
fn raw_tcp(client: &mut Client) -> &mut tokio::net::TcpStream {
    match client.ws.get_mut() {
        tokio_tungstenite::MaybeTlsStream::Plain(tcp) => tcp,
        _ => panic!("plain tcp expected"),
    }
}

/// The head of a masked client text frame announcing `len` payload bytes (64-bit length form).
fn text_header(len: u64) -> Vec<u8> {
    let mut head = vec![0x81u8, 0x80 | 127];
    head.extend_from_slice(&len.to_be_bytes());
    head.extend_from_slice(&[1, 2, 3, 4]);
    head
}

/// A header announcing more than the hard limit is refused when the header arrives: error
/// frame, close 1009, without the server waiting for (and buffering) a payload that is never
/// sent. Before, the server reserved and buffered until the heartbeat gave up on the client
/// (60 s), so a client could make the replica hold the announced bytes as they trickled in.
#[tokio::test]
async fn a_frame_header_over_the_hard_limit_is_refused_before_its_payload() {
    let c = Cluster::start(Backend::Sqlite).await;
    let (_, token) = c.user("alice").await;
    let hard_max = c.a.gateway.cfg.hard_max_frame_bytes as u64;
    // Far below the heartbeat (20 s) and idle timeout (60 s) that used to end such a socket.
    let promptly = std::time::Duration::from_secs(5);

    for announced in [1u64 << 62, hard_max + 1] {
        let (mut client, _) = Client::connect(&c.a, &token).await;
        tokio::io::AsyncWriteExt::write_all(raw_tcp(&mut client), &text_header(announced))
            .await
            .unwrap();
        let err = tokio::time::timeout(promptly, client.expect("error"))
            .await
            .unwrap_or_else(|_| panic!("{announced}: no error frame before any payload"));
        assert_eq!(err["code"], "payload_too_large", "{announced}: {err}");
        let (code, reason) = tokio::time::timeout(promptly, client.expect_close())
            .await
            .unwrap_or_else(|_| panic!("{announced}: no close before any payload"));
        assert_eq!(
            (code, reason.as_str()),
            (1009, "frame too large"),
            "{announced}"
        );
    }

    // At exactly the hard limit the frame is read: answered with an error, the socket stays.
    let (mut client, _) = Client::connect(&c.a, &token).await;
    let mut frame = text_header(hard_max);
    let mask = [1u8, 2, 3, 4];
    frame.extend((0..hard_max as usize).map(|i| b'x' ^ mask[i % 4]));
    tokio::io::AsyncWriteExt::write_all(raw_tcp(&mut client), &frame)
        .await
        .unwrap();
    assert_eq!(client.expect("error").await["code"], "payload_too_large");
    still_open(&mut client).await;
}
