use std::time::Duration;

use bus::CancelSignal;
use chrono::{TimeZone, Utc};
use domain::UserId;

use crate::helpers::bus;

#[tokio::test]
async fn cancellation_round_trip() {
    let bus = bus();
    let mut listener = bus.cancel_listener().await.unwrap();
    assert!(!bus.is_cancelled("job-1").await.unwrap());
    bus.request_cancel("job-1").await.unwrap();
    assert!(bus.is_cancelled("job-1").await.unwrap());
    assert!(!bus.is_cancelled("job-2").await.unwrap());
    let got = tokio::time::timeout(Duration::from_secs(5), listener.recv())
        .await
        .unwrap();
    assert_eq!(got, Some(CancelSignal::Cancel("job-1".into())));
    // Another deployment's cancellations are not ours.
    bus_other_prefix_cancel().await;
    assert!(
        tokio::time::timeout(Duration::from_millis(200), listener.recv())
            .await
            .is_err()
    );
}

async fn bus_other_prefix_cancel() {
    bus().request_cancel("job-9").await.unwrap();
}

#[tokio::test]
async fn access_tokens_can_be_revoked_one_by_one_with_a_ttl() {
    let bus = bus();
    assert!(!bus.is_jti_revoked("abc").await.unwrap());
    bus.revoke_jti("abc", Duration::from_secs(1)).await.unwrap();
    assert!(bus.is_jti_revoked("abc").await.unwrap());
    assert!(!bus.is_jti_revoked("abd").await.unwrap());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(
        !bus.is_jti_revoked("abc").await.unwrap(),
        "expires with the token"
    );
}

#[tokio::test]
async fn user_wide_revocation_only_moves_forward() {
    let bus = bus();
    let user = UserId(5);
    assert_eq!(bus.user_tokens_revoked_before(user).await.unwrap(), None);
    let t1 = Utc.timestamp_millis_opt(1_700_000_000_123).unwrap();
    let t0 = Utc.timestamp_millis_opt(1_600_000_000_000).unwrap();
    bus.revoke_user_tokens_before(user, t1).await.unwrap();
    bus.revoke_user_tokens_before(user, t0).await.unwrap();
    assert_eq!(
        bus.user_tokens_revoked_before(user).await.unwrap(),
        Some(t1)
    );
    assert_eq!(
        bus.user_tokens_revoked_before(UserId(6)).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn node_registry_lists_live_nodes_until_their_heartbeat_expires() {
    let bus = bus();
    bus.register_node("gw-1", r#"{"connections":3}"#, Duration::from_millis(300))
        .await
        .unwrap();
    bus.register_node("gw-2", r#"{"connections":5}"#, Duration::from_secs(30))
        .await
        .unwrap();
    let mut nodes = bus.list_nodes().await.unwrap();
    nodes.sort_by(|a, b| a.node_id.cmp(&b.node_id));
    assert_eq!(nodes.len(), 2);
    assert_eq!(nodes[0].info, r#"{"connections":3}"#);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let nodes = bus.list_nodes().await.unwrap();
    assert_eq!(
        nodes.iter().map(|n| n.node_id.as_str()).collect::<Vec<_>>(),
        ["gw-2"]
    );
    // A heartbeat brings a node back; unregistering removes it at once.
    bus.register_node("gw-1", "{}", Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(bus.list_nodes().await.unwrap().len(), 2);
    bus.unregister_node("gw-2").await.unwrap();
    let nodes = bus.list_nodes().await.unwrap();
    assert_eq!(
        nodes.iter().map(|n| n.node_id.as_str()).collect::<Vec<_>>(),
        ["gw-1"]
    );
}

#[tokio::test]
async fn presence_expires_and_spans_several_nodes() {
    let bus = bus();
    let user = UserId(9);
    assert!(!bus.is_online(user).await.unwrap());
    bus.set_presence(user, "gw-1", Duration::from_millis(300))
        .await
        .unwrap();
    bus.set_presence(user, "gw-2", Duration::from_secs(30))
        .await
        .unwrap();
    assert!(bus.is_online(user).await.unwrap());
    bus.clear_presence(user, "gw-2").await.unwrap();
    assert!(bus.is_online(user).await.unwrap(), "still on gw-1");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        !bus.is_online(user).await.unwrap(),
        "gw-1 stopped refreshing"
    );
    assert!(!bus.is_online(UserId(10)).await.unwrap());
}
