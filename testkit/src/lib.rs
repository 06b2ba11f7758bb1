//! Test harness shared by every Pact crate's tests: real parts only.
//!
//! - [`anvil`] spawns a real anvil node from the npm-installed Foundry binary (through alloy's
//!   node bindings) and hands back a wallet-backed provider.
//! - [`TestDb`] creates a fresh PostgreSQL database on the server named by `DATABASE_URL` (or
//!   `.pact/env`, written by `scripts/setup`), and drops it when the test ends.
//! - [`bench`] holds what the benches share (settings from the environment, load, percentiles).
//! - [`deploy`] deploys Pact's contracts through the Rust bindings (the one deploy every test and
//!   the local stack use) and writes their deployment records.
//! - anvil's own RPC methods (time travel, mining control, snapshots) are alloy's typed
//!   [`AnvilApi`](alloy::providers::ext::AnvilApi), re-exported here.

pub mod bench;
pub mod deploy;
pub mod rpc_proxy;

pub use alloy::providers::ext::AnvilApi;

use alloy::{
    network::EthereumWallet,
    node_bindings::{Anvil, AnvilInstance},
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use eyre::{Context, Result};
use sqlx::{Connection, Executor, PgConnection, PgPool, postgres::PgPoolOptions};

/// A running anvil node; killed when dropped.
pub struct TestChain {
    /// The node process (kept alive as long as this value lives).
    pub anvil: AnvilInstance,
    /// A provider signing with anvil's first dev account.
    pub provider: DynProvider,
}

impl TestChain {
    /// The signer of dev account `index` (0..10).
    pub fn signer(&self, index: usize) -> PrivateKeySigner {
        self.anvil.keys()[index].clone().into()
    }

    /// A provider that signs with dev account `index`.
    pub fn provider_for(&self, index: usize) -> DynProvider {
        let wallet = EthereumWallet::from(self.signer(index));
        ProviderBuilder::new()
            .wallet(wallet)
            .connect_http(self.anvil.endpoint_url())
            .erased()
    }

    /// The HTTP RPC URL.
    pub fn rpc_url(&self) -> String {
        self.anvil.endpoint()
    }
}

/// Spawns anvil (the npm binary, or `PACT_ANVIL`) on a free port with the given chain id.
pub fn anvil(chain_id: u64) -> Result<TestChain> {
    anvil_with(chain_id, |a| a)
}

/// [`anvil`] with more settings (`configure` gets the builder with the binary and chain id set:
/// a fixed port, a mnemonic, block times, `keep_stdout`, …).
pub fn anvil_with(chain_id: u64, configure: impl FnOnce(Anvil) -> Anvil) -> Result<TestChain> {
    let bin = pact_bindings::toolchain::foundry_bin("anvil");
    eyre::ensure!(
        bin.exists(),
        "anvil not found at {}: run scripts/setup first (it installs the npm Foundry binaries)",
        bin.display()
    );
    let anvil = configure(Anvil::at(bin).chain_id(chain_id))
        .try_spawn()
        .wrap_err_with(|| format!("spawning anvil for chain {chain_id}"))?;
    let wallet = EthereumWallet::from(PrivateKeySigner::from(anvil.keys()[0].clone()));
    let provider = ProviderBuilder::new()
        .wallet(wallet)
        .connect_http(anvil.endpoint_url())
        .erased();
    Ok(TestChain { anvil, provider })
}

/// The server URL tests create databases on: `DATABASE_URL`, else the one `scripts/setup`
/// recorded in `.pact/env`, else the local default.
pub fn database_url() -> String {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        return url;
    }
    let env_file = pact_bindings::toolchain::repo_root().join(".pact/env");
    if let Ok(text) = std::fs::read_to_string(env_file)
        && let Some(url) = text
            .lines()
            .find_map(|l| l.strip_prefix("export DATABASE_URL="))
    {
        return url.trim_matches(|c| c == '\'' || c == '"').to_string();
    }
    "postgres://postgres@127.0.0.1:5432/postgres".to_string()
}

fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let server = match base.rfind('/') {
        Some(i) if base[..i].contains("://") && i > base.find("://").unwrap() + 2 => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{server}/{db}?{q}"),
        None => format!("{server}/{db}"),
    }
}

/// A fresh PostgreSQL database, dropped (with `FORCE`) when this value is dropped (unless it was
/// made by [`TestDb::recreate`] with `keep`).
pub struct TestDb {
    /// The database name (`pact_test_<random>`).
    pub name: String,
    /// Connection URL of the new database.
    pub url: String,
    admin_url: String,
    keep: bool,
}

impl TestDb {
    /// Creates an empty database.
    pub async fn new() -> Result<Self> {
        let name = format!("pact_test_{:016x}", rand::random::<u64>());
        Self::create(&name, false, false).await
    }

    /// Drops database `name` if it exists (`WITH (FORCE)`) and creates it empty; with `keep`, it
    /// stays after this value is dropped (the local stack's database, inspected after a run).
    pub async fn recreate(name: &str, keep: bool) -> Result<Self> {
        eyre::ensure!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "database name {name:?}: use lowercase letters, digits and _"
        );
        Self::create(name, true, keep).await
    }

    async fn create(name: &str, replace: bool, keep: bool) -> Result<Self> {
        let admin_url = database_url();
        let mut admin = PgConnection::connect(&admin_url).await.wrap_err_with(|| {
            format!("connecting to PostgreSQL at {admin_url} (run scripts/setup)")
        })?;
        if replace {
            admin
                .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await?;
        }
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await?;
        admin.close().await?;
        let url = with_database(&admin_url, name);
        Ok(Self {
            name: name.to_string(),
            url,
            admin_url,
            keep,
        })
    }

    /// A connection pool on the database.
    pub async fn pool(&self) -> Result<PgPool> {
        Ok(PgPoolOptions::new()
            .max_connections(8)
            .connect(&self.url)
            .await?)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside async tests: use a thread with its own runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await?;
                admin
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await?;
                admin.close().await
            })?;
            Ok::<_, eyre::Report>(())
        })
        .join();
    }
}

/// A child process that is killed (SIGKILL) and reaped when dropped, so a failing test leaves no
/// orphan behind.
pub struct KillOnDrop(pub std::process::Child);

impl KillOnDrop {
    /// Kills the process now (SIGKILL) and waits for it.
    pub fn kill(&mut self) -> std::io::Result<()> {
        self.0.kill()?;
        self.0.wait().map(|_| ())
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_url_replaces_the_database_name() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h:5432/postgres?sslmode=disable", "x"),
            "postgres://u@h:5432/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://u@h:5432", "x"),
            "postgres://u@h:5432/x"
        );
    }
}
