# shellcheck shell=bash
# Shared by the Pact scripts: paths, messages, the Foundry binaries, and the PostgreSQL location.

PACT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PACT_STATE="${PACT_STATE:-$PACT_ROOT/.pact}"
export PACT_ROOT PACT_STATE

if [ -t 1 ]; then
  _b=$'\e[1m' _g=$'\e[32m' _r=$'\e[31m' _y=$'\e[33m' _n=$'\e[0m'
else
  _b='' _g='' _r='' _y='' _n=''
fi
step() { printf '%s==> %s%s\n' "$_b" "$*" "$_n"; }
ok() { printf '  %sok%s   %s\n' "$_g" "$_n" "$*"; }
did() { printf '  %sdid%s  %s\n' "$_y" "$_n" "$*"; }
warn() { printf '  %swarn%s %s\n' "$_y" "$_n" "$*" >&2; }
die() {
  printf '%sFAILED%s %s\n' "$_r" "$_n" "$*" >&2
  exit 1
}

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) PACT_PLATFORM=linux-amd64 ;;
  Linux-aarch64) PACT_PLATFORM=linux-arm64 ;;
  Darwin-arm64) PACT_PLATFORM=darwin-arm64 ;;
  Darwin-x86_64) PACT_PLATFORM=darwin-amd64 ;;
  *) PACT_PLATFORM=unsupported ;;
esac

# Native binaries from the npm packages (the node_modules/.bin wrappers drop exit codes).
foundry_bin() { printf '%s/node_modules/@foundry-rs/%s-%s/bin/%s' "$PACT_ROOT" "$1" "$PACT_PLATFORM" "$1"; }
FORGE="${PACT_FORGE:-$(foundry_bin forge)}"
ANVIL="${PACT_ANVIL:-$(foundry_bin anvil)}"
CAST="${PACT_CAST:-$(foundry_bin cast)}"
SOLC="$PACT_ROOT/scripts/solc"
export FORGE ANVIL CAST SOLC

# forge resolves foundry.toml's relative `solc` path against the working directory.
forge_in_contracts() { (cd "$PACT_ROOT/contracts" && "$FORGE" "$@"); }

# anvil's default accounts (the local stack starts its chains from this mnemonic).
PACT_MNEMONIC="test test test test test test test test test test test junk"
key_of() { "$CAST" wallet private-key --mnemonic "$PACT_MNEMONIC" --mnemonic-index "$1"; }
addr_of() { "$CAST" wallet address --mnemonic "$PACT_MNEMONIC" --mnemonic-index "$1"; }

# A field of a deployment file (a JavaScript expression over `d`), or '' (run from the repo root).
j() { node -p "const d=require('./$1'); ($2) ?? ''"; }

# DATABASE_URL as decided by scripts/setup (kept in .pact/env).
load_pact_env() {
  # shellcheck disable=SC1091
  [ -f "$PACT_STATE/env" ] && . "$PACT_STATE/env"
  return 0
}
