#!/usr/bin/env bash
# The whole test suite: installs what is missing (build tools, Chromium, chromedriver,
# xmllint), checks formatting and lints, builds the task pane and the server, then runs
# the Rust unit and integration tests, the end-to-end tests in headless Chromium, and the
# wasm-bindgen tests in headless Chromium. `.ci/run` calls exactly this.
#
# PostgreSQL: the database tests also run on PostgreSQL when DATABASE_URL is set. When it
# is not and a server answers on 127.0.0.1:5432, that one is used (user postgres).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
start=$(date +%s)

"$ROOT/scripts/install-tools.sh" --test

if [ -z "${DATABASE_URL:-}" ] && (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres"
  echo "==> PostgreSQL found on 127.0.0.1:5432: database tests run on SQLite and PostgreSQL"
fi

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> cargo clippy"
cargo fetch --locked
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy -p medimail-taskpane --target wasm32-unknown-unknown --all-targets --locked -- -D warnings

echo "==> building the task pane (trunk build --release)"
trunk build --release

echo "==> unit, integration and end-to-end tests (this builds the medimail binary too)"
cargo test --workspace --locked -- --test-threads=2

echo "==> wasm-bindgen tests in headless Chromium"
CHROMEDRIVER=/usr/bin/chromedriver cargo test --locked -p medimail-taskpane \
  --target wasm32-unknown-unknown

echo "==> all tests passed in $(( $(date +%s) - start )) s"
