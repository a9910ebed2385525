use std::time::Duration;

use bus::{Bus, RateDecision};

use crate::helpers::bus;

#[tokio::test]
async fn allows_limit_then_limits_with_a_sensible_retry_after_then_recovers() {
    let bus = bus();
    let window = Duration::from_millis(1000);
    for i in 0..5u32 {
        assert_eq!(
            bus.rate_limit("login:1.2.3.4", 5, window).await.unwrap(),
            RateDecision::Allowed { remaining: 4 - i }
        );
    }
    let retry_after = match bus.rate_limit("login:1.2.3.4", 5, window).await.unwrap() {
        RateDecision::Limited { retry_after } => retry_after,
        other => panic!("expected Limited, got {other:?}"),
    };
    // One slot frees every window/limit = 200 ms.
    assert!(
        retry_after > Duration::ZERO && retry_after <= Duration::from_millis(200),
        "{retry_after:?}"
    );
    // Another bucket is unaffected.
    assert!(bus
        .rate_limit("login:5.6.7.8", 5, window)
        .await
        .unwrap()
        .is_allowed());

    tokio::time::sleep(retry_after + Duration::from_millis(20)).await;
    assert!(bus
        .rate_limit("login:1.2.3.4", 5, window)
        .await
        .unwrap()
        .is_allowed());
    assert!(!bus
        .rate_limit("login:1.2.3.4", 5, window)
        .await
        .unwrap()
        .is_allowed());

    // After a whole window the full burst is back.
    tokio::time::sleep(window + Duration::from_millis(50)).await;
    for _ in 0..5 {
        assert!(bus
            .rate_limit("login:1.2.3.4", 5, window)
            .await
            .unwrap()
            .is_allowed());
    }
    assert!(!bus
        .rate_limit("login:1.2.3.4", 5, window)
        .await
        .unwrap()
        .is_allowed());
}

#[tokio::test]
async fn limits_hold_across_processes_sharing_redis() {
    let a = bus();
    let b = Bus::connect(a.config().clone()).unwrap();
    let window = Duration::from_secs(60);
    for i in 0..4 {
        let bus = if i % 2 == 0 { &a } else { &b };
        assert!(bus
            .rate_limit("send:42", 4, window)
            .await
            .unwrap()
            .is_allowed());
    }
    match b.rate_limit("send:42", 4, window).await.unwrap() {
        RateDecision::Limited { retry_after } => {
            assert!(
                retry_after > Duration::from_secs(10) && retry_after <= Duration::from_secs(15)
            );
        }
        other => panic!("expected Limited, got {other:?}"),
    }
}

#[tokio::test]
async fn a_zero_limit_always_limits() {
    let bus = bus();
    assert!(!bus
        .rate_limit("x", 0, Duration::from_secs(1))
        .await
        .unwrap()
        .is_allowed());
}
