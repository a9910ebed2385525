use std::time::{Duration, Instant};

use bus::{Bus, BusConfig, BusError};
use domain::{ConversationId, ErrorCode};
use testkit::RedisServer;

use crate::helpers::delta;

#[test]
fn a_bad_url_is_invalid_url_naming_redis_url_and_never_echoes_it() {
    for url in [
        "",
        "not a url",
        "http://localhost:6379",
        "redis://:pw@host:notaport",
    ] {
        let err = Bus::connect(BusConfig::new(url)).unwrap_err();
        assert!(matches!(err, BusError::InvalidUrl(_)), "{url}: {err:?}");
        let msg = err.to_string();
        assert!(msg.contains("REDIS_URL"), "{msg}");
        assert!(!msg.contains('\n'), "one line: {msg}");
        assert!(!msg.contains("pw"), "no secrets: {msg}");
        assert_eq!(err.code(), ErrorCode::Internal);
    }
}

#[tokio::test]
async fn redis_down_is_unavailable_quickly_and_the_same_bus_recovers() {
    let server = RedisServer::start();
    let bus = Bus::connect(BusConfig::new(server.url())).unwrap();
    bus.ping().await.unwrap();
    bus.publish(ConversationId(1), &delta("x")).await.unwrap();

    server.stop();
    for _ in 0..3 {
        let t = Instant::now();
        let err = bus.ping().await.unwrap_err();
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "took {:?}",
            t.elapsed()
        );
        assert!(matches!(err, BusError::Unavailable(_)), "{err:?}");
        assert_eq!(err.code(), ErrorCode::Unavailable);
    }
    let err = bus
        .publish(ConversationId(1), &delta("y"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Unavailable, "{err:?}");

    server.resume();
    bus.ping().await.unwrap();
    // Scripts are loaded again transparently on the new server.
    assert_eq!(
        bus.publish(ConversationId(1), &delta("z"))
            .await
            .unwrap()
            .offset,
        1
    );
    server.stop();
}

#[tokio::test]
async fn a_service_can_start_while_redis_is_down() {
    let server = RedisServer::start();
    server.stop();
    let bus = Bus::connect(BusConfig::new(server.url())).unwrap();
    assert!(bus.ping().await.unwrap_err().is_unavailable());
    server.resume();
    bus.ping().await.unwrap();
    server.stop();
}
