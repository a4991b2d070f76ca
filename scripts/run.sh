#!/usr/bin/env bash
# Quick start: installs what is missing, builds the task pane (release) and the server,
# then starts Medimail at https://localhost:3000 with an embedded SQLite database and a
# development certificate in ./data, the development identity provider (pick any mailbox
# in the pane; this only works on loopback) and the file outbox (codes arrive as .eml
# files in ./data/outbox, their paths in the log). Arguments are passed to `medimail`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

"$ROOT/scripts/install-tools.sh"

echo "==> building the task pane and the webmail (scripts/build-frontend.sh)"
cargo fetch --locked          # Trunk builds with cargo --offline
"$ROOT/scripts/build-frontend.sh"

echo "==> building the server (cargo build --release)"
cargo build --release --locked -p medimail-server

# Development identity unless the caller decided otherwise (set it to false to use a real
# Microsoft 365 tenant with MEDIMAIL_CLIENT_ID and MEDIMAIL_ALLOWED_TENANTS).
export MEDIMAIL_DEV_IDENTITY="${MEDIMAIL_DEV_IDENTITY:-true}"

echo "==> starting Medimail (Ctrl+C to stop)"
exec "$ROOT/target/release/medimail" "$@"
