#!/usr/bin/env bash
# End-to-end test of the VS Code extension in a real VS Code (code-server on 127.0.0.1, driven by
# headless Chromium), after the extension's lint and unit tests. Installs what is missing (Debian
# packages, npm packages, code-server, a tiny model checkpoint), lints, unit-tests, builds and
# packages the extension, runs vscode-extension/e2e/run.mjs.
# Idempotent: a second run only rebuilds the .vsix and runs the test.
#
# Environment:
#   CODEFUSION_PYTHON      interpreter with the codefusion-editor package (default: python3)
#   CODEFUSION_CHECKPOINT  checkpoint to serve (default: a tiny one built with engine.testing, cached)
#   CODEFUSION_E2E_CACHE   cache for code-server and the checkpoint (default: ~/.cache/codefusion-e2e)
#   E2E_TIMEOUT_S          time limit of the browser test (default 480)
#   E2E_SCENARIOS          main,trust (default): the features with Workspace Trust off; a second
#                          code-server with Workspace Trust on and an untrusted folder (issue 26)
# Prints "VSCODE E2E PASS ..." or "VSCODE E2E FAIL ..." last; exits non-zero on failure.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EXT="$REPO/vscode-extension"
CACHE=${CODEFUSION_E2E_CACHE:-$HOME/.cache/codefusion-e2e}
CODE_SERVER_VERSION=4.100.3
RIPGREP_CACHE_NAME=vscode-ripgrep-cache-1.15.11
RIPGREP_TARBALL=ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz
PYTHON=${CODEFUSION_PYTHON:-python3}
START=$(date +%s)

fail() {
    echo "VSCODE E2E FAIL ($(($(date +%s) - START))s): $*"
    exit 1
}
step() { echo "== vscode_e2e [$(($(date +%s) - START))s] $*"; }

# --- Debian packages: the browser, ripgrep, and headers code-server's native modules build with
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v rg >/dev/null || missing+=(ripgrep)
for pkg in libkrb5-dev pkg-config; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
    step "apt-get install ${missing[*]}"
    SUDO=()
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null || fail "need root (or sudo) to install: ${missing[*]}"
        SUDO=(sudo -n)
    fi
    "${SUDO[@]}" apt-get update -qq || fail "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" \
        || fail "apt-get install ${missing[*]} failed"
fi

command -v node >/dev/null || fail "node is not installed (Node 20 is needed)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || fail "Node $(node --version) is too old (need 20)"

# --- the extension: npm packages, compile, package
cd "$EXT"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    step "npm ci"
    npm ci --no-audit --no-fund || fail "npm ci failed"
fi
step "lint and unit-test the extension"
npm run --silent lint || fail "npm run lint (eslint) failed"
mkdir -p "$EXT/e2e/artifacts"
npm test >"$EXT/e2e/artifacts/unit-tests.log" 2>&1 || { tail -n 40 "$EXT/e2e/artifacts/unit-tests.log"; fail "npm test (extension unit tests) failed"; }
grep -E "^# (pass|fail) " "$EXT/e2e/artifacts/unit-tests.log" | tr '\n' ' '; echo
step "compile and package the extension"
rm -f codefusion.vsix
npm run --silent package >/dev/null || fail "npm run package (tsc + vsce) failed"
[ -f codefusion.vsix ] || fail "vsce did not write codefusion.vsix"

# --- code-server (a real VS Code; its install wants a ripgrep download: seed the cache from Debian's rg)
CS_DIR="$CACHE/code-server-$CODE_SERVER_VERSION"
CODE_SERVER="$CS_DIR/node_modules/.bin/code-server"
code_server_version() { "$CODE_SERVER" --config "$CS_DIR/config.yaml" --version 2>/dev/null; }
if ! code_server_version | grep -q "^$CODE_SERVER_VERSION "; then
    step "install code-server@$CODE_SERVER_VERSION into $CS_DIR"
    tmp=${TMPDIR:-/tmp}
    if [ ! -f "$tmp/$RIPGREP_CACHE_NAME/$RIPGREP_TARBALL" ]; then
        staging=$(mktemp -d)
        cp "$(command -v rg)" "$staging/rg"
        mkdir -p "$tmp/$RIPGREP_CACHE_NAME"
        tar czf "$tmp/$RIPGREP_CACHE_NAME/$RIPGREP_TARBALL" -C "$staging" rg
        rm -rf "$staging"
    fi
    rm -rf "$CS_DIR"
    mkdir -p "$CS_DIR"
    echo '{"private": true}' >"$CS_DIR/package.json"
    (cd "$CS_DIR" && npm_config_yes=true npm install --no-audit --no-fund --unsafe-perm --foreground-scripts \
        "code-server@$CODE_SERVER_VERSION" >"$CS_DIR/install.log" 2>&1) \
        || { tail -30 "$CS_DIR/install.log"; fail "installing code-server failed (log: $CS_DIR/install.log)"; }
    code_server_version >/dev/null || fail "code-server does not run after install"
fi

# --- the Python side: the interpreter must have the package; a tiny real checkpoint
cd "$REPO"
"$PYTHON" -c 'import importlib.util as u, sys; sys.exit(0 if u.find_spec("lsp.__main__") else 1)' \
    || fail "$PYTHON cannot import lsp: install the project into it (pip install -e $REPO)"
if [ -z "${CODEFUSION_CHECKPOINT:-}" ]; then
    # the same cached checkpoint the pytest suite uses (tests/conftest.py)
    CODEFUSION_CHECKPOINT=$(CODEFUSION_THREADS=1 "$PYTHON" -c 'from engine.testing import cached_tiny_checkpoint; print(cached_tiny_checkpoint())' \
        | tail -1) || fail "building the tiny checkpoint failed"
    step "checkpoint $CODEFUSION_CHECKPOINT"
fi

# --- the test
step "run e2e/run.mjs (screenshots and logs go to $EXT/e2e/artifacts)"
CODE_SERVER="$CODE_SERVER" VSIX="$EXT/codefusion.vsix" CODEFUSION_PYTHON="$PYTHON" \
    CODEFUSION_CHECKPOINT="$CODEFUSION_CHECKPOINT" exec node "$EXT/e2e/run.mjs"
