//! `pact-stack`: the local stack (the README's main command, behind `scripts/stack`).
//!
//! `pact-stack up` starts a home and a satellite anvil chain (1-second blocks), deploys every
//! contract (`contracts/deployments/<chain_id>.json`), recreates the database, starts the
//! indexer, six signer daemons, the relayer, the keeper and the API through [`pact_stack::Stack`],
//! prints what it started and how to use it, then follows progress until Ctrl-C (or SIGTERM),
//! which stops everything it started. `--demo` runs the scripted trade (`scripts/demo`) first;
//! `--check` verifies every service and stops.

use alloy::{providers::Provider, transports::http::reqwest};
use clap::{Parser, Subcommand};
use eyre::{Result, WrapErr, eyre};
use pact_stack::{
    Config, Database, Funding, HOME_ID, Keys, MNEMONIC, Roles, SAT_ID, Services, Stack,
    process::signal,
};
use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

#[derive(Parser)]
#[command(name = "pact-stack", about = "Pact's local stack")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Start the stack, print the summary, follow progress (Ctrl-C stops everything).
    Up(UpArgs),
}

#[derive(clap::Args)]
struct UpArgs {
    /// Run the scripted trade (`scripts/demo`) once the stack is up.
    #[arg(long)]
    demo: bool,
    /// Verify every service answers, then stop (CI smoke test).
    #[arg(long)]
    check: bool,
    /// Home chain (31337) RPC port.
    #[arg(long, env = "PACT_HOME_PORT", default_value_t = 8545)]
    home_port: u16,
    /// Satellite chain (31338) RPC port.
    #[arg(long, env = "PACT_SAT_PORT", default_value_t = 8546)]
    sat_port: u16,
    /// API port.
    #[arg(long, env = "PACT_API_PORT", default_value_t = 8080)]
    api_port: u16,
    /// Indexer metrics port.
    #[arg(long, env = "PACT_METRICS_PORT", default_value_t = 9464)]
    metrics_port: u16,
    /// Database name (dropped and recreated at start, kept afterwards).
    #[arg(long, env = "PACT_STACK_DB", default_value = "pact_stack")]
    db: String,
    /// State directory (logs in `<state>/stack/logs`).
    #[arg(long, env = "PACT_STATE")]
    state: Option<PathBuf>,
}

fn ok(msg: &str) {
    println!("  ok   {msg}");
}

fn step(msg: &str) {
    println!("==> {msg}");
}

#[tokio::main]
async fn main() {
    let Cmd::Up(args) = Cli::parse().command;
    if let Err(e) = up(args).await {
        eprintln!("FAILED {e:#}");
        std::process::exit(1);
    }
}

async fn up(args: UpArgs) -> Result<()> {
    let root = pact_bindings::toolchain::repo_root();
    let state = args.state.clone().unwrap_or_else(|| root.join(".pact"));
    let stack_dir = state.join("stack");
    let logs = stack_dir.join("logs");
    let pids = stack_dir.join("pids");
    std::fs::create_dir_all(&logs)?;
    stop_leftovers(&pids);
    for p in logs_in(&logs) {
        let _ = std::fs::remove_file(p);
    }
    for (port, var) in [
        (args.home_port, "PACT_HOME_PORT"),
        (args.sat_port, "PACT_SAT_PORT"),
        (args.api_port, "PACT_API_PORT"),
        (args.metrics_port, "PACT_METRICS_PORT"),
    ] {
        eyre::ensure!(
            std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
            "port {port} is in use by another program (set {var})"
        );
    }
    let deployments = root.join("contracts/deployments");
    for id in [HOME_ID, SAT_ID] {
        let _ = std::fs::remove_file(deployments.join(format!("{id}.json")));
    }
    let config = Config {
        dir: logs.clone(),
        deployments_dir: Some(deployments),
        echo: false,
        home_port: Some(args.home_port),
        sat_port: Some(args.sat_port),
        api_port: Some(args.api_port),
        metrics_port: Some(args.metrics_port),
        satellite: true,
        accounts: 12,
        block_time: Some(1),
        unbond_secs: 7 * 86_400,
        roles: Roles {
            owner: 0,
            arbiter: 0,
            treasury: 0,
        },
        funding: Funding {
            accounts: (0..10).collect(),
            amount: alloy::primitives::U256::from(1_000_000u64 * 1_000_000),
            approve_escrow: false,
        },
        keys: Keys::Accounts { signers: 4 },
        database: Database::Named(args.db.clone()),
        services: Services {
            indexer: true,
            signers: 6,
            relay: true,
            keeper: true,
            api: true,
        },
        heartbeat_blocks: Some(30),
        bin_dir: None,
    };

    step("Starting the stack (chains, contracts, database, services)");
    let t0 = Instant::now();
    let started = tokio::select! {
        s = Stack::up(config) => Some(s.wrap_err_with(|| format!("starting the stack (logs in {})", logs.display()))?),
        _ = shutdown_signal() => None,
    };
    let Some(mut stack) = started else {
        step("Stopped while starting (everything started is stopped)");
        return Ok(());
    };
    write_pids(&stack, &pids)?;
    ok(&format!(
        "up in {:.1} s: chains, contracts, database {}, indexer, 6 signers, relayer, keeper, API",
        t0.elapsed().as_secs_f64(),
        stack.db.name
    ));
    let example_key = register_example_agent(&stack).await?;
    summary(&stack, &args, &root, &example_key);

    let result = follow(&mut stack, &args, &root).await;
    println!();
    step("Stopping the stack");
    let n = stack.shutdown();
    drop(stack);
    let _ = std::fs::remove_file(&pids);
    ok(&format!(
        "stopped the {n} services and both chains (logs kept in {})",
        rel(&root, &logs)
    ));
    result
}

/// The demo, the check, or the progress loop.
async fn follow(stack: &mut Stack, args: &UpArgs, root: &Path) -> Result<()> {
    if args.demo {
        let status = tokio::select! {
            s = tokio::process::Command::new(root.join("scripts/demo"))
                .env("PACT_API_PORT", args.api_port.to_string())
                .env("PACT_HOME_PORT", args.home_port.to_string())
                .env("PACT_SAT_PORT", args.sat_port.to_string())
                .kill_on_drop(true)
                .status() => s?,
            _ = shutdown_signal() => return Ok(()),
        };
        eyre::ensure!(
            status.success(),
            "the demo failed ({status}; service logs in {})",
            rel(root, &stack.dir)
        );
        stack.procs.check_alive()?;
    }
    if args.check {
        tokio::time::sleep(Duration::from_secs(3)).await;
        stack.procs.check_alive()?;
        let deploy_block = stack.deploy_block as i64;
        eyre::ensure!(
            stack.cursor(HOME_ID).await >= deploy_block,
            "the indexer did not pass the deploy block {deploy_block}"
        );
        eyre::ensure!(
            stack.cursor(SAT_ID).await >= 0,
            "the indexer did not start on the satellite"
        );
        stack
            .wait_http(&format!("{}/openapi.json", stack.api_url))
            .await
            .wrap_err("the API does not answer")?;
        println!("{}", status_line(stack).await);
        ok("stack check passed");
        return Ok(());
    }
    step("Following (Ctrl-C stops everything)");
    loop {
        stack.procs.check_alive()?;
        println!("{}", status_line(stack).await);
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = shutdown_signal() => return Ok(()),
        }
    }
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

fn logs_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|e| {
            e.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "log"))
                .collect()
        })
        .unwrap_or_default()
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

/// Records the pids of the chains and services, so a run after a crash of this supervisor stops
/// what it left.
fn write_pids(stack: &Stack, path: &Path) -> Result<()> {
    let mut lines: Vec<String> = vec![format!("{} anvil", stack.home.anvil.child().id())];
    if let Some(sat) = &stack.sat {
        lines.push(format!("{} anvil", sat.anvil.child().id()));
    }
    for (pid, name) in stack.procs.pids() {
        lines.push(format!("{pid} {name}"));
    }
    std::fs::write(path, lines.join("\n") + "\n")?;
    Ok(())
}

/// Stops the processes a previous run recorded and left running (only those whose command line
/// is still anvil's or a Pact binary's: a pid may have been reused).
fn stop_leftovers(path: &Path) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let mut stopped = Vec::new();
    for pid in text
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse::<u32>().ok())
    {
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd);
        let exe = cmd.split('\0').next().unwrap_or_default();
        if exe.ends_with("/anvil") || exe.contains("/pact-") {
            signal(pid, rustix::process::Signal::TERM);
            stopped.push(pid);
        }
    }
    if !stopped.is_empty() {
        std::thread::sleep(Duration::from_millis(500));
        for &pid in &stopped {
            if Path::new(&format!("/proc/{pid}")).exists() {
                signal(pid, rustix::process::Signal::KILL);
            }
        }
        println!(
            "  did  stopped {} process(es) left by a previous run",
            stopped.len()
        );
    }
    let _ = std::fs::remove_file(path);
}

async fn register_example_agent(stack: &Stack) -> Result<String> {
    let v: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/v1/agents/register", stack.api_url))
        .json(&serde_json::json!({"handle": "example-agent", "display_name": "Example agent"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let key = v["api_key"]
        .as_str()
        .ok_or_else(|| eyre!("registering the example agent: no api_key in {v}"))?;
    ok("example agent 'example-agent' registered");
    Ok(key.to_string())
}

async fn status_line(stack: &Stack) -> String {
    let block = |p: Option<u64>| p.map_or("?".to_string(), |b| b.to_string());
    let h = block(stack.home.provider.get_block_number().await.ok());
    let s = match &stack.sat {
        Some(sat) => block(sat.provider.get_block_number().await.ok()),
        None => "-".into(),
    };
    let orders: Option<i64> = sqlx::query_scalar("SELECT count(*) FROM escrow_orders")
        .fetch_one(&stack.pool)
        .await
        .ok();
    let batches: Option<i64> =
        sqlx::query_scalar("SELECT coalesce(sum(last_sequence), 0)::bigint FROM lites")
            .fetch_one(&stack.pool)
            .await
            .ok();
    let num = |v: Option<i64>| v.map_or("?".to_string(), |n| n.to_string());
    format!(
        "{}  home #{h}  satellite #{s}  indexed #{}/#{}  orders {}  Lite batches {}",
        clock(),
        stack.cursor(HOME_ID).await,
        stack.cursor(SAT_ID).await,
        num(orders),
        num(batches)
    )
}

fn clock() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
        % 86_400;
    format!(
        "{:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn summary(stack: &Stack, args: &UpArgs, root: &Path, example_key: &str) {
    let home_rpc = stack.home.rpc_url();
    let sat_rpc = stack.sat.as_ref().map(|s| s.rpc_url()).unwrap_or_default();
    let api = &stack.api_url;
    let c = &stack.contracts;
    let lites = stack.lites.as_ref();
    let db_url = &stack.db.url;
    println!("\n==> Pact local stack is up");
    let row = |k: &str, v: String| println!("  {k:<14} {v}");
    row("home chain", format!("{home_rpc} (chain id {HOME_ID})"));
    row("satellite", format!("{sat_rpc} (chain id {SAT_ID})"));
    row("API", format!("{api} (OpenAPI: {api}/openapi.json)"));
    row("database", db_url.clone());
    row(
        "metrics",
        format!("http://127.0.0.1:{}/metrics", args.metrics_port),
    );
    row("escrow", stack.escrow.to_string());
    row(
        "token (USDT)",
        format!(
            "{} (6 decimals, 1,000,000 minted to accounts #0-#9)",
            stack.usdt
        ),
    );
    if let Some(id) = &c.identity {
        row("identity", format!("registry {}", id.registry));
    }
    if let Some(l) = lites {
        row(
            "Lites",
            format!(
                "identity {}, DID {}, staking {}",
                l.identity, l.did, l.staking
            ),
        );
    }
    row("logs", format!("{}/", rel(root, &stack.dir)));
    row(
        "services",
        "indexer, signer-0..5 (accounts #4-#9, threshold 4), relay (#10), keeper (#11), api".into(),
    );
    println!("\n  test accounts (mnemonic \"{MNEMONIC}\"):");
    let roles = [
        "deployer, owner, arbiter",
        "buyer",
        "seller",
        "second buyer",
    ];
    for (i, role) in roles.iter().enumerate() {
        let key = stack.home.signer(i);
        println!(
            "    #{i} {role:<24} {}  key {}",
            key.address(),
            alloy::hex::encode_prefixed(key.to_bytes())
        );
    }
    let hex = |i: usize| alloy::hex::encode_prefixed(stack.home.signer(i).to_bytes());
    println!("\n  try it: buyer #1 pays seller #2 10 USDT through the escrow");
    println!(
        "    export RPC={home_rpc} ESCROW={} TOKEN={} CAST=node_modules/.bin/cast",
        stack.escrow, stack.usdt
    );
    println!("    export BUYER_KEY={} SELLER_KEY={}", hex(1), hex(2));
    print!("{TRY_CAST}");
    println!(
        "    psql {db_url} -c \"select state, amount, seller_paid, fee_paid from escrow_orders\""
    );
    println!("\n  as an integrator (API), with the example agent's key:");
    println!("    export API={api} PACT_KEY={example_key}");
    print!("{TRY_API}");
}

/// The `cast` walk-through of the summary (shell variables set by the lines printed before it).
const TRY_CAST: &str = r#"    BUYER=$($CAST wallet address $BUYER_KEY); SELLER=$($CAST wallet address $SELLER_KEY)
    ORDER=0x${BUYER#0x}$(printf '%024x' 1)     # your wallet + a 96-bit nonce
    $CAST send --rpc-url $RPC --private-key $BUYER_KEY $TOKEN "approve(address,uint256)" $ESCROW 10000000
    $CAST send --rpc-url $RPC --private-key $BUYER_KEY $ESCROW "fund(bytes32,address,uint256,uint64,bytes32)" \
      $ORDER $SELLER 10000000 $(( $(date +%s) + 86400 )) $($CAST keccak terms)
    $CAST send --rpc-url $RPC --private-key $SELLER_KEY $ESCROW "submitProof(bytes32,bytes32,string)" \
      $ORDER $($CAST keccak work) ipfs://proof
    $CAST send --rpc-url $RPC --private-key $BUYER_KEY $ESCROW "accept(bytes32)" $ORDER
    $CAST rpc --rpc-url $RPC evm_increaseTime 259200 && $CAST rpc --rpc-url $RPC evm_mine   # +72 h
"#;

/// The API walk-through of the summary.
const TRY_API: &str = r#"    curl -s $API/v1/agents/me -H "authorization: Bearer $PACT_KEY"
    curl -s -X POST $API/v1/listings -H "authorization: Bearer $PACT_KEY" -H 'content-type: application/json' \
      -d '{"kind":"offer","title":"Translate a contract","description":"EN to DE","category":"translation","price":"12.5"}'
    curl -s "$API/v1/listings?q=translate&sort=relevance"
    curl -s -X POST $API/v1/agents/register -H "content-type: application/json" -d '{"handle":"my-agent","display_name":"My agent"}'

"#;
