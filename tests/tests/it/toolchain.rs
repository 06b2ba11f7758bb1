//! The offline toolchain: forge drives solcjs through `scripts/solc`, and a compile error fails the
//! build with the compiler's own message (not a crash, not an empty output).

use pact_bindings::toolchain::{foundry_bin, repo_root};
use std::process::Command;

fn temp_project(source: &str) -> eyre::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("pact-forge-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(dir.join("src"))?;
    let shim = repo_root().join("scripts/solc");
    std::fs::write(
        dir.join("foundry.toml"),
        format!(
            "[profile.default]\nsrc = \"src\"\nsolc = \"{}\"\noffline = true\nauto_detect_solc = false\n",
            shim.display()
        ),
    )?;
    std::fs::write(dir.join("src/C.sol"), source)?;
    Ok(dir)
}

fn forge_build(dir: &std::path::Path) -> eyre::Result<std::process::Output> {
    Ok(Command::new(foundry_bin("forge"))
        .arg("build")
        .current_dir(dir)
        .output()?)
}

#[test]
fn forge_build_fails_with_the_compilers_message_on_broken_solidity() -> eyre::Result<()> {
    let dir = temp_project(
        "// SPDX-License-Identifier: MIT\npragma solidity 0.8.30;\ncontract Broken { function f() public { uint256 x = ; } }\n",
    )?;
    let out = forge_build(&dir)?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_dir_all(&dir)?;
    assert!(!out.status.success(), "forge build must fail: {text}");
    assert!(
        text.contains("Expected primary expression"),
        "solc's message is shown: {text}"
    );
    assert!(
        text.contains("src/C.sol"),
        "the failing file is named: {text}"
    );
    Ok(())
}

#[test]
fn forge_build_succeeds_through_the_shim() -> eyre::Result<()> {
    let dir = temp_project(
        "// SPDX-License-Identifier: MIT\npragma solidity 0.8.30;\ncontract Fine { function f() public pure returns (uint256) { return 1; } }\n",
    )?;
    let out = forge_build(&dir)?;
    let artifact = dir.join("out/C.sol/Fine.json");
    let built = artifact.exists();
    std::fs::remove_dir_all(&dir)?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(built, "forge wrote the artifact");
    Ok(())
}

#[test]
fn solc_shim_answers_like_native_solc() -> eyre::Result<()> {
    let out = Command::new(repo_root().join("scripts/solc"))
        .arg("--version")
        .output()?;
    let text = String::from_utf8(out.stdout)?;
    assert!(out.status.success());
    assert!(
        text.lines()
            .any(|l| l.starts_with("Version: 0.8.30+commit.") && l.ends_with(".Linux.g++")),
        "{text}"
    );
    let bad = Command::new(repo_root().join("scripts/solc"))
        .arg("--bogus")
        .output()?;
    assert!(!bad.status.success(), "an unknown flag is an error");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unsupported argument"));
    Ok(())
}
