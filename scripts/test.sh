#!/usr/bin/env bash
# The whole test suite: installs what is missing (build tools, Chromium, chromedriver,
# xmllint), checks formatting and lints, builds the task pane and the server, then runs
# the Rust unit and integration tests, the end-to-end tests in headless Chromium, and the
# wasm-bindgen tests in headless Chromium. `.ci/run` calls exactly this.
#
# PostgreSQL: every database test also runs on PostgreSQL, at DATABASE_URL or else at
# 127.0.0.1:5432 (user postgres); without one the run fails.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
start=$(date +%s)

"$ROOT/scripts/install-tools.sh" --test

# Every database test runs on SQLite and on PostgreSQL: a missing PostgreSQL is a failure
# here, never a skip (MEDIMAIL_TEST_REQUIRE_POSTGRES makes the tests themselves insist).
if [ -z "${DATABASE_URL:-}" ]; then
  if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null && command -v pg_ctlcluster >/dev/null; then
    echo "==> PostgreSQL does not answer on 127.0.0.1:5432: starting the local cluster"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
    for _ in $(seq 1 30); do (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null && break; sleep 1; done
  fi
  if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
    echo "scripts/test.sh: PostgreSQL is required on 127.0.0.1:5432 (or set DATABASE_URL)" >&2
    exit 1
  fi
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres"
fi
case "$DATABASE_URL" in
  postgres://*|postgresql://*) ;;
  *) echo "scripts/test.sh: DATABASE_URL must name a PostgreSQL server, got another scheme" >&2; exit 1 ;;
esac
export MEDIMAIL_TEST_REQUIRE_POSTGRES=1
echo "==> database tests run on SQLite and on PostgreSQL (${DATABASE_URL%%@*}@…)"

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> the server's layering (scripts/module-graph.py)"
python3 "$ROOT/scripts/module-graph.py"

echo "==> cargo clippy"
cargo fetch --locked
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy -p medimail-taskpane --target wasm32-unknown-unknown --all-targets --locked -- -D warnings
cargo clippy -p medimail-taskpane --target wasm32-unknown-unknown --all-targets --features webmail --locked -- -D warnings

echo "==> building the task pane and the webmail (scripts/build-frontend.sh)"
"$ROOT/scripts/build-frontend.sh"

echo "==> unit, integration and end-to-end tests (this builds the medimail binary too)"
cargo test --workspace --locked -- --test-threads=2

echo "==> the frontend's unit tests with the webmail's screens (its \`webmail\` feature)"
cargo test --locked -p medimail-taskpane --features webmail

echo "==> wasm-bindgen tests in headless Chromium"
CHROMEDRIVER=/usr/bin/chromedriver cargo test --locked -p medimail-taskpane \
  --target wasm32-unknown-unknown

echo "==> all tests passed in $(( $(date +%s) - start )) s"
