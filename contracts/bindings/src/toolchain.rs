//! Where the Foundry binaries live.
//!
//! `scripts/setup` installs forge, anvil and cast from npm (`@foundry-rs/*`), whose native
//! binaries sit in `node_modules/@foundry-rs/<tool>-<os>-<arch>/bin/<tool>`. The npm wrappers in
//! `node_modules/.bin` are avoided on purpose: they do not pass the tool's exit code through.

use std::path::{Path, PathBuf};

/// The repository root (the directory holding the workspace `Cargo.toml`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("bindings crate sits two levels below the repository root")
        .to_path_buf()
}

/// A file of the repository (`path` relative to its root), for tests that check a Rust constant
/// against the Solidity source declaring it.
#[cfg(test)]
pub(crate) fn repo_file(path: &str) -> String {
    let path = repo_root().join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn platform() -> &'static str {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "aarch64") => "linux-arm64",
        ("macos", "aarch64") => "darwin-arm64",
        ("macos", _) => "darwin-amd64",
        _ => "linux-amd64",
    }
}

/// Path of a Foundry tool (`"anvil"`, `"forge"`, `"cast"`).
///
/// `PACT_<TOOL>` (e.g. `PACT_ANVIL`) overrides the location; otherwise the npm-installed native
/// binary under the repository's `node_modules` is used.
pub fn foundry_bin(tool: &str) -> PathBuf {
    if let Ok(path) = std::env::var(format!("PACT_{}", tool.to_uppercase())) {
        return PathBuf::from(path);
    }
    repo_root()
        .join("node_modules/@foundry-rs")
        .join(format!("{tool}-{}", platform()))
        .join("bin")
        .join(tool)
}
