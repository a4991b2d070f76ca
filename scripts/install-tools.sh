#!/usr/bin/env bash
# Installs, idempotently, every tool that building and testing Medimail needs.
#
#   scripts/install-tools.sh          # build tools: wasm32 target, Trunk, wasm-bindgen-cli, wasm-opt, brotli
#   scripts/install-tools.sh --test   # the above plus Chromium, chromedriver and xmllint (Debian)
#
# Only the package registries are used (crates.io, npm, Debian). Each step is skipped when
# the tool is already there at the right version, so a second run costs a few seconds.
# See ../shared/TOOLCHAIN.md for why each pin is what it is.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

TRUNK_VERSION="0.21.14"     # 0.22.x needs rustc >= 1.96.1
BINARYEN_VERSION="132.0.0"  # Debian's binaryen (108) silently produces a blank page

AIOSMTPD_VERSION="1.4.6"    # PyPI; the SMTP server the end-to-end tests deliver to
MOTO_VERSION="5.2.1"         # PyPI; the S3-compatible server of the several-instances test

WITH_TEST=0
for arg in "$@"; do
  case "$arg" in
    --test) WITH_TEST=1 ;;
    *) echo "usage: $0 [--test]" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

export PATH="$HOME/.cargo/bin:$PATH"

# wasm-bindgen-cli must be exactly the wasm-bindgen library version locked in Cargo.lock.
wasm_bindgen_locked() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

# --- Rust target -------------------------------------------------------------------------
if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "wasm32-unknown-unknown: present"
else
  say "wasm32-unknown-unknown: installing"
  rustup target add wasm32-unknown-unknown
fi

# --- Trunk -------------------------------------------------------------------------------
if command -v trunk >/dev/null && trunk --version | grep -q " ${TRUNK_VERSION}$"; then
  say "trunk ${TRUNK_VERSION}: present"
else
  say "trunk ${TRUNK_VERSION}: installing (several minutes on 2 cores)"
  cargo install trunk --version "${TRUNK_VERSION}" --locked
fi

# --- wasm-bindgen-cli --------------------------------------------------------------------
WB_VERSION="$(wasm_bindgen_locked)"
if [ -z "$WB_VERSION" ]; then
  echo "Cargo.lock does not lock wasm-bindgen; run 'cargo generate-lockfile' first" >&2
  exit 1
fi
if command -v wasm-bindgen >/dev/null && wasm-bindgen --version | grep -q " ${WB_VERSION}$" \
   && command -v wasm-bindgen-test-runner >/dev/null; then
  say "wasm-bindgen-cli ${WB_VERSION}: present"
else
  say "wasm-bindgen-cli ${WB_VERSION}: installing"
  # Without --locked: the CLI's own lock pins a webpki-roots the registry lacks (TOOLCHAIN.md).
  cargo install wasm-bindgen-cli --version "${WB_VERSION}" --force
fi

# --- wasm-opt (npm binaryen, pinned in package.json / package-lock.json) ----------------
WASM_OPT="$ROOT/node_modules/.bin/wasm-opt"
if [ -x "$WASM_OPT" ] && "$WASM_OPT" --version | grep -q "version ${BINARYEN_VERSION%%.*}"; then
  say "wasm-opt ${BINARYEN_VERSION%%.*} (npm binaryen): present"
else
  say "wasm-opt: installing npm binaryen ${BINARYEN_VERSION}"
  npm ci --no-audit --no-fund --loglevel=error
fi

# --- brotli (Debian): the pane's assets are precompressed at build time ----------------
if command -v brotli >/dev/null; then
  say "brotli: present"
else
  say "installing from Debian: brotli"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq brotli >/dev/null
fi

# --- Test-only tools (Debian) ------------------------------------------------------------
if [ "$WITH_TEST" = 1 ]; then
  missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  command -v chromedriver >/dev/null || missing+=(chromium-driver)
  command -v xmllint >/dev/null || missing+=(libxml2-utils)
  # pdftotext: the webmail's print view is checked in Chromium's print-to-PDF.
  command -v pdftotext >/dev/null || missing+=(poppler-utils)
  if [ ${#missing[@]} -eq 0 ]; then
    say "chromium, chromedriver, xmllint, pdftotext: present"
  else
    say "installing from Debian: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  # The real SMTP server of the end-to-end tests (tests/fixtures/smtp_sink.py), from PyPI.
  if python3 -c 'import aiosmtpd, sys; sys.exit(0 if aiosmtpd.__version__ == "'"${AIOSMTPD_VERSION}"'" else 1)' 2>/dev/null; then
    say "aiosmtpd ${AIOSMTPD_VERSION}: present"
  else
    say "aiosmtpd ${AIOSMTPD_VERSION}: installing (pip)"
    python3 -m pip install --quiet --disable-pip-version-check "aiosmtpd==${AIOSMTPD_VERSION}"
  fi
  # The S3-compatible object store of the several-instances test (tests/tests/instances.rs):
  # moto's server, from PyPI, on loopback.
  if python3 -c 'import moto, sys; sys.exit(0 if moto.__version__ == "'"${MOTO_VERSION}"'" else 1)' 2>/dev/null \
      && command -v moto_server >/dev/null; then
    say "moto ${MOTO_VERSION} (S3 server): present"
  else
    say "moto ${MOTO_VERSION} (S3 server): installing (pip)"
    python3 -m pip install --quiet --disable-pip-version-check "moto[server]==${MOTO_VERSION}"
  fi
fi
