#!/usr/bin/env bash
# Install the system packages (Debian 12) and the Python venv at .venv.
# Idempotent: re-running when everything is in place takes well under a second.
set -euo pipefail

# System packages. Add new ones here.
APT_PACKAGES=(
  build-essential cmake ninja-build git pkg-config
  clang libclang-rt-14-dev   # libFuzzer + sanitizer runtimes
  clang-format
  libgtest-dev libgmock-dev
  nlohmann-json3-dev libcli11-dev libpcre2-dev libcpp-httplib-dev libbenchmark-dev
  python3-venv python3-pip
  curl unzip ca-certificates
)

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=$repo/.venv
req=$repo/scripts/requirements.txt
stamp=$venv/.requirements.sha256

log() { echo "setup: $*"; }
die() { echo "setup: error: $*" >&2; exit 1; }

# 1. System packages.
mapfile -t missing < <(
  comm -23 <(printf '%s\n' "${APT_PACKAGES[@]}" | sort -u) \
    <(dpkg-query -W -f='${Package} ${Status}\n' "${APT_PACKAGES[@]}" 2>/dev/null |
      awk '$NF == "installed" { print $1 }' | sort -u)
)
if ((${#missing[@]} == 0)); then
  log "apt packages: all ${#APT_PACKAGES[@]} installed"
else
  sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null || die "not root and no sudo; install as root: ${missing[*]}"
    sudo=(sudo)
  fi
  log "apt packages: installing ${missing[*]}"
  apt_log=$(mktemp)
  trap 'rm -f "$apt_log"' EXIT
  apt() { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q "$@" >>"$apt_log" 2>&1; }
  if ! { apt update && apt install -y --no-install-recommends "${missing[@]}"; }; then
    cat "$apt_log" >&2
    die "apt-get failed (output above)"
  fi
fi

# 2. Python venv, rebuilt only when requirements.txt changes.
want=$(sha256sum "$req" | cut -d' ' -f1)
if "$venv/bin/python" -c '' 2>/dev/null && [[ $(cat "$stamp" 2>/dev/null) == "$want" ]]; then
  log "venv: $venv up to date"
else
  if ! "$venv/bin/python" -c '' 2>/dev/null; then
    log "venv: creating $venv"
    rm -rf "$venv"
    "${PYTHON:-python3}" -m venv "$venv"
  fi
  log "venv: installing $(grep -cv '^\s*\(#\|$\)' "$req") packages from ${req#"$repo"/}"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req"
  echo "$want" >"$stamp"
fi
log "done"
