#!/usr/bin/env bash
# Prints the task pane's figures: release .wasm size raw and gzipped, JS glue size, and the
# time from navigation to the shell rendered in headless Chromium (median of 10 loads).
# Assumes the tools are installed (scripts/install-tools.sh --test).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

cargo fetch --locked
scripts/build-frontend.sh >/dev/null 2>&1
cargo build --locked -p medimail-server -p medimail-e2e --bin medimail --bin pane-load-bench >/dev/null

wasm=$(ls dist/*.wasm)
js=$(ls dist/medimail-taskpane-*.js)
printf 'release .wasm: %s bytes raw, %s bytes gzip -9\n' \
  "$(stat -c %s "$wasm")" "$(gzip -9 -c "$wasm" | wc -c)"
printf 'JS glue:       %s bytes raw, %s bytes gzip -9\n' \
  "$(stat -c %s "$js")" "$(gzip -9 -c "$js" | wc -c)"
"$ROOT/target/debug/pane-load-bench"
cargo run --release --locked -q -p medimail-e2e --bin token-verify-bench
cargo run --release --locked -q -p medimail-e2e --bin argon2-bench
# The real server in release, a real SMTP server (aiosmtpd) on loopback.
cargo build --release --locked -p medimail-server --bin medimail >/dev/null
MEDIMAIL_BIN="$ROOT/target/release/medimail" cargo run --release --locked -q -p medimail-e2e --bin code-mail-bench
MEDIMAIL_BIN="$ROOT/target/release/medimail" cargo run --release --locked -q -p medimail-e2e --bin envelope-bench
MEDIMAIL_BIN="$ROOT/target/release/medimail" cargo run --release --locked -q -p medimail-e2e --bin read-bench
# 100 senders and 20 readers for 60 s on PostgreSQL (DATABASE_URL).
MEDIMAIL_BIN="$ROOT/target/release/medimail" cargo run --release --locked -q -p medimail-e2e --bin load-bench
# 200 #med# messages with a 1 MB file through the SMTP gateway.
MEDIMAIL_BIN="$ROOT/target/release/medimail" cargo run --release --locked -q -p medimail-e2e --bin smtp-bench
# 200 envelopes with a 1 MB file handed to another MSSanté operator (aiosmtpd, mutual TLS).
MEDIMAIL_BIN="$ROOT/target/release/medimail" cargo run --release --locked -q -p medimail-e2e --bin operator-bench
MEDIMAIL_BIN="$ROOT/target/release/medimail" cargo run --release --locked -q -p medimail-e2e --bin directory-bench
# 2,200,000 entries: import, then 1,000 searches in-process on SQLite and PostgreSQL (about
# 8 minutes; DATABASE_URL selects the PostgreSQL server).
MEDIMAIL_BIN="$ROOT/target/release/medimail" cargo run --release --locked -q -p medimail-e2e --bin directory-bench -- search
