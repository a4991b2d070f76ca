#!/usr/bin/env bash
# Builds the frontend's two pages with Trunk (release, offline):
#
#   dist/           the pane (frontend/index.html), loaded by Outlook at /taskpane.html
#   dist/webmail/   the webmail: the same crate with its `webmail` feature, served at /
#                   (and every path outside /api) in a browser
#
# The pane is built without the webmail's screens, which it never shows, to stay within
# its size budget (docs/PERFORMANCE.md). The webmail's page is frontend/index.html with
# the feature turned on (written to frontend/webmail.html, not committed).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/env.sh
source scripts/env.sh

trunk build --release
# The webmail's page loads no office.js: it never runs inside Office.
sed -e 's/data-bin="medimail-taskpane"/data-bin="medimail-taskpane" data-cargo-features="webmail"/' \
    -e '/__MEDIMAIL_OFFICE_JS_URL__/d' -e '/office.js: the server fills/d' \
    -e "s/Cette version d'Outlook est trop ancienne pour Medimail./Ce navigateur est trop ancien pour Medimail./" \
    -e '/data-pane-only/d' -e 's/data-webmail-only hidden/data-webmail-only/' \
    -e 's/puis fermez et rouvrez le volet/puis rechargez la page/' \
    -e 's|\(<link data-trunk rel="css" href="../public/taskpane.css">\)|\1\n  <link data-trunk rel="css" href="../public/webmail.css">|' \
    frontend/index.html > frontend/webmail.html
grep -q 'data-cargo-features="webmail"' frontend/webmail.html
grep -q 'public/webmail.css' frontend/webmail.html
trunk build --release=true --dist dist/webmail --public-url /webmail/ frontend/webmail.html

# Precompressed copies of the content-hashed assets (brotli 11 and gzip 9, made once here
# rather than at every request): the server sends the one the browser accepts.
for asset in dist/*-*.wasm dist/*-*.js dist/*-*.css \
             dist/webmail/*-*.wasm dist/webmail/*-*.js dist/webmail/*-*.css; do
  brotli --force --keep --quality=11 "$asset"
  gzip --force --keep --best --no-name "$asset"
done
