#!/usr/bin/env bash
# Quick start: installs what is missing, builds the task pane (release) and the server,
# then starts Medimail at https://localhost:3000 with an embedded SQLite database and a
# development certificate in ./data. Arguments are passed to `medimail` (see --help).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

"$ROOT/scripts/install-tools.sh"

echo "==> building the task pane (trunk build --release)"
cargo fetch --locked          # Trunk builds with cargo --offline
trunk build --release

echo "==> building the server (cargo build --release)"
cargo build --release --locked -p medimail-server

echo "==> starting Medimail (Ctrl+C to stop)"
exec "$ROOT/target/release/medimail" "$@"
