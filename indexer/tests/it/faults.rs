//! A fault-injecting RPC proxy (503s, 429s, truncated bodies, delays, "too many results"
//! refusals, ranges the node times out on) between the indexer and anvil: the result is still
//! exact.

use crate::common::*;
use pact_testkit::rpc_proxy::{FaultProxy, Faults};
use std::{sync::atomic::Ordering, time::Duration};

#[tokio::test]
async fn flaky_rpc_still_yields_exact_rows() -> eyre::Result<()> {
    let env = env(31337).await?;
    env.fill(80, 30, 1).await?;
    let faults = Faults {
        server_error: 0.08,
        rate_limited: 0.08,
        truncated: 0.05,
        delayed: 0.1,
        delay: Duration::from_millis(30),
        max_logs: Some(200),
        ..Faults::default()
    };
    let proxy = FaultProxy::start(&env.chain.rpc_url(), faults, 7).await?;
    let mut cfg = env.config();
    cfg.rpc_url = proxy.url();
    cfg.initial_range = 64;
    cfg.max_range = 1024;
    cfg.target_logs = 1_000;
    let follower = env.follower(cfg);
    let metrics = follower.metrics();
    let stop = spawn(follower);
    env.wait_synced(Duration::from_secs(60)).await?;
    assert_eq!(db_rows(env.store.pool()).await?, env.canonical().await?);

    // Live blocks through the same proxy.
    env.fill(10, 5, 2).await?;
    env.wait_synced(Duration::from_secs(30)).await?;
    assert_eq!(db_rows(env.store.pool()).await?, env.canonical().await?);
    stop.send(true)?;

    let stats = proxy.stats();
    assert!(
        stats.refused_logs.load(Ordering::Relaxed) > 0,
        "ranges were refused and split"
    );
    assert!(
        stats.injected.load(Ordering::Relaxed) > 5,
        "faults were injected"
    );
    assert!(metrics.rpc_errors() > 0, "the indexer saw and counted them");
    Ok(())
}

/// A node that times out on long `eth_getLogs` ranges: each timed-out range is split (not resent
/// as it is, which would time out forever) until the ranges are short enough.
#[tokio::test]
async fn ranges_the_node_times_out_on_are_split() -> eyre::Result<()> {
    let env = env(31337).await?;
    env.fill(40, 3, 1).await?;
    let faults = Faults {
        stall_ranges_over: Some(8),
        stall: Duration::from_secs(3),
        ..Faults::default()
    };
    let proxy = FaultProxy::start(&env.chain.rpc_url(), faults, 3).await?;
    let mut cfg = env.config();
    cfg.rpc_url = proxy.url();
    cfg.live_distance = 0;
    cfg.initial_range = 64;
    cfg.request_timeout = Duration::from_millis(300);
    let follower = env.follower(cfg);
    let metrics = follower.metrics();
    let stop = spawn(follower);
    env.wait_synced(Duration::from_secs(60)).await?;
    assert_eq!(db_rows(env.store.pool()).await?, env.canonical().await?);
    stop.send(true)?;
    assert!(
        proxy.stats().stalled_logs.load(Ordering::Relaxed) > 0,
        "long ranges stalled"
    );
    assert!(metrics.rpc_errors() > 0, "the timeouts were counted");
    Ok(())
}
