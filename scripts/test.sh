#!/usr/bin/env bash
# The one test command: installs the system tools the suite needs (via apt-get when
# missing), then runs formatting, lints, the protocol-purity check and every test.
# `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*"; }

# --- system tools the integration tests drive (real peers, never mocks) ---------
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
apt_updated=""
apt_install() {
  log "installing missing packages: $*"
  if [ -n "$SUDO" ] && ! command -v sudo >/dev/null 2>&1; then
    echo "need root or sudo to apt-get install: $*" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "$apt_updated" ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# tool -> Debian package
declare -A NEED=([ffmpeg]=ffmpeg [ffprobe]=ffmpeg [rtmpdump]=rtmpdump [python3]=python3
                [redis-server]=redis-server [haproxy]=haproxy [docker-compose]=docker-compose)
missing=()
for tool in "${!NEED[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${NEED[$tool]}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  # shellcheck disable=SC2046
  apt_install $(printf '%s\n' "${missing[@]}" | sort -u)
fi

# Py3AMF (PyPI), an independent AMF implementation the oracle tests compare
# against, in a virtualenv under target/ so the system Python stays untouched.
PY3AMF_VENV="$PWD/target/py3amf-venv"
if ! "$PY3AMF_VENV/bin/python" -c 'import pyamf' >/dev/null 2>&1; then
  log "installing the Py3AMF test oracle into $PY3AMF_VENV"
  rm -rf "$PY3AMF_VENV"
  if ! python3 -m venv "$PY3AMF_VENV" >/dev/null 2>&1; then
    apt_install python3-venv
    rm -rf "$PY3AMF_VENV"
    python3 -m venv "$PY3AMF_VENV"
  fi
  "$PY3AMF_VENV/bin/python" -m pip install --quiet --disable-pip-version-check Py3AMF==0.9.1
fi
export FERROCAST_PY3AMF_PYTHON="$PY3AMF_VENV/bin/python"

# --- Rust components ------------------------------------------------------------
for comp in rustfmt clippy; do
  if ! cargo "${comp/rustfmt/fmt}" --version >/dev/null 2>&1; then
    log "adding rustup component $comp"
    rustup component add "$comp"
  fi
done

# --- static checks ----------------------------------------------------------------
log "cargo fmt --check"
cargo fmt --all -- --check
(cd fuzz && cargo fmt -- --check)

log "purity: src/protocol and src/fanout must not use actix, tokio or redis"
if grep -rnE 'actix|tokio|redis' src/protocol src/fanout; then
  echo "src/protocol and src/fanout must stay free of IO crates (see DESIGN.md §2)" >&2
  exit 1
fi

log "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --locked -- -D warnings

# --- tests --------------------------------------------------------------------------
if cargo nextest --version >/dev/null 2>&1; then
  # nextest does not run doc tests; run them first so nextest's summary is the
  # suite's closing line.
  log "cargo test --doc"
  cargo test --locked --doc
  log "cargo nextest run"
  cargo nextest run --locked --no-fail-fast
else
  log "cargo test (cargo-nextest not installed)"
  cargo test --locked --no-fail-fast
fi

# --- fuzz smoke -----------------------------------------------------------------------
# The corpus replay above runs on stable inside `cargo test`. Here each cargo-fuzz
# target also runs briefly with coverage guidance (FUZZ_SECONDS each; 0 skips).
# cargo-fuzz needs nightly flags; RUSTC_BOOTSTRAP=1 allows them on stable.
FUZZ_SECONDS="${FUZZ_SECONDS:-5}"
if [ "$FUZZ_SECONDS" != 0 ]; then
  if ! command -v cargo-fuzz >/dev/null 2>&1; then
    log "installing cargo-fuzz"
    cargo install --locked cargo-fuzz
  fi
  log "fuzz smoke: ${FUZZ_SECONDS}s per target"
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  (
    cd fuzz
    export RUSTC_BOOTSTRAP=1
    cargo fuzz build --sanitizer none
    for target in $(cargo fuzz list); do
      mkdir -p "$scratch/$target" "corpus/$target"
      # New inputs go to the scratch dir; the committed corpus is only read.
      cargo fuzz run --sanitizer none "$target" "$scratch/$target" "corpus/$target" -- \
        -max_total_time="$FUZZ_SECONDS" -print_final_stats=0 2>&1 | tail -n 1
    done
  )
fi
log "all checks passed"
