#!/usr/bin/env bash
# gpu-check.sh: everything the CUDA backend needs checked on a GPU, in one call,
# under 8 minutes on an H200, without the network:
#   1. build (Release, PIVOT_CUDA=ON, only this GPU's architecture)
#   2. host tests + the CUDA conformance tests (every op against `reference`)
#   3. end to end on a tiny random-weight model: `pivot logits` cuda vs reference
#   4. the 30-prompt generation goldens on cuda (SmolLM2; skipped if not cached)
#   5. benchmarks: SmolLM2 (real if cached, else random weights of its shape) and
#      Llama-3.1-8B-shaped random-weight Q4_0 / Q8_0 / BF16 files generated here;
#      decode batch 1 + pp512 with `pivot bench --device cuda`, the device-to-device
#      copy bandwidth measured in the same run; transformers bf16 eager decode on
#      the same shape for the ratio
#   6. a table of every number and the acceptance lines, printed last.
# Every step is time-boxed and prints PASS / FAIL / SKIP with the reason; logs are
# in $WORK (and copied to $OUT when that is set, e.g. by a remote runner).
# Environment: PYTHON (default python3; needs numpy, and torch + transformers for
# step 5's baseline), WORK (default build-gpu-check), PIVOT_MODELS (model cache),
# BUILD (default build-gpu), GPU_CHECK_8B=0 (skip the 8B files).
#
# A GPU machine without this project's build dependencies (nlohmann-json, CLI11,
# GTest, PCRE2, cpp-httplib) or the `gguf` Python package (the random-model
# writer needs it) gets both from here: on a machine that has them, run
#     scripts/gpu-check.sh --prepare [ARCH]     # ARCH default 90 (H100/H200)
# which builds build-gpu/ for that architecture and downloads the gguf wheel into
# build-gpu/wheels; carry build-gpu/bin/pivot, build-gpu/tests/conformance/
# pivot_conformance_tests, build-gpu/tests/cuda/pivot_cuda_host_tests and
# build-gpu/wheels to the GPU machine. Prebuilt binaries there are used as they
# are (step 1 then only checks they run).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${WORK:-$ROOT/build-gpu-check}
BUILD=${BUILD:-$ROOT/build-gpu}
BIG=${GPU_CHECK_8B:-1}  # 0: skip the 8B files (a dry run of this script)
PY=${PYTHON:-python3}
MODELS=${PIVOT_MODELS:-$HOME/.cache/pivot/models}
SMOL=$MODELS/SmolLM2-135M-Instruct.Q4_1.gguf
if [ "${1:-}" = "--prepare" ]; then
  arch=${2:-90}
  set -e
  gen=()
  command -v ninja >/dev/null && [ ! -f "$BUILD/CMakeCache.txt" ] && gen=(-G Ninja)
  cmake -S . -B "$BUILD" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DPIVOT_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES="$arch-real"
  cmake --build "$BUILD" -j"$(nproc)" --target pivot pivot_conformance_tests pivot_cuda_host_tests
  strip "$BUILD/bin/pivot" "$BUILD/tests/conformance/pivot_conformance_tests" \
    "$BUILD/tests/cuda/pivot_cuda_host_tests"
  pip=$ROOT/.venv/bin/pip
  [ -x "$pip" ] || pip="$PY -m pip"
  $pip download --no-deps --only-binary=:all: -d "$BUILD/wheels" gguf==0.19.0
  # Shared libraries a CUDA/PyTorch image may lack (cuBLAS and glibc are there).
  mkdir -p "$BUILD/lib"
  ldd "$BUILD/bin/pivot" | awk '/libcpp-httplib|libpcre2|libbrotli/ {print $3}' |
    xargs -r cp -L -t "$BUILD/lib"
  du -ch "$BUILD/bin/pivot" "$BUILD/tests/conformance/pivot_conformance_tests" \
    "$BUILD/tests/cuda/pivot_cuda_host_tests" "$BUILD/wheels" "$BUILD/lib"
  echo "carry: build-gpu/bin/pivot build-gpu/tests/conformance/pivot_conformance_tests" \
    "build-gpu/tests/cuda/pivot_cuda_host_tests build-gpu/wheels build-gpu/lib;" \
    "run: scripts/gpu-check.sh"
  exit 0
fi
mkdir -p "$WORK"
START=$(date +%s)
declare -a STATUS=()

log() { printf '[gpu-check %4ds] %s\n' $(($(date +%s) - START)) "$*"; }
# step NAME TIMEOUT CMD...: runs CMD with a time limit, output in $WORK/NAME.log.
step() {
  local name=$1 limit=$2
  shift 2
  log "$name: $* (limit ${limit}s)"
  timeout --kill-after=10 "$limit" "$@" >"$WORK/$name.log" 2>&1
  local rc=$?
  if [ $rc -eq 0 ]; then
    STATUS+=("PASS  $name")
    log "$name: PASS"
  else
    local why="exit $rc"
    [ $rc -eq 124 ] && why="timed out after ${limit}s"
    STATUS+=("FAIL  $name ($why; log $WORK/$name.log)")
    log "$name: FAIL ($why); last lines of $WORK/$name.log:"
    tail -n 25 "$WORK/$name.log" | sed 's/^/    /'
  fi
  return $rc
}
skip() {
  STATUS+=("SKIP  $1 ($2)")
  log "$1: SKIP ($2)"
}

# ---------------------------------------------------------------- 0. the machine
log "GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -1)"
CC=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d ' .')
ARCH=${CC:+${CC}-real}
ARCH=${ARCH:-native}
log "CUDA architecture for this build: $ARCH; python: $($PY -c 'import sys; print(sys.version.split()[0])' 2>&1)"
if [ -d "$BUILD/wheels" ] && ! $PY -c "import gguf" 2>/dev/null; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/pivot-site "$BUILD"/wheels/*.whl && export PYTHONPATH=/tmp/pivot-site${PYTHONPATH:+:$PYTHONPATH}
fi
HAVE_NUMPY=0  # numpy and gguf: the random-model writer, the comparisons
$PY -c "import numpy, gguf" 2>/dev/null && HAVE_NUMPY=1
HAVE_TORCH=0
$PY -c "import torch, transformers; assert torch.cuda.is_available()" 2>/dev/null && HAVE_TORCH=1

# ---------------------------------------------------------------- 1. build
PIVOT=$BUILD/bin/pivot
if [ -x "$PIVOT" ] && [ -x "$BUILD/tests/conformance/pivot_conformance_tests" ] && \
   [ -x "$BUILD/tests/cuda/pivot_cuda_host_tests" ] && [ ! -f "$BUILD/CMakeCache.txt" ]; then
  # Prebuilt (--prepare) binaries: their bundled libraries, and cuBLAS from the
  # Python wheels if the loader does not find the toolkit's.
  if ldd "$PIVOT" | grep -q 'not found' && [ -d "$BUILD/lib" ]; then
    export LD_LIBRARY_PATH=$BUILD/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  fi
  if ldd "$PIVOT" | grep -q 'libcublas.*not found'; then
    lib=$($PY -c "import nvidia.cublas, os; print(os.path.join(list(nvidia.cublas.__path__)[0], 'lib'))" 2>/dev/null)
    [ -n "$lib" ] && export LD_LIBRARY_PATH=$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  fi
  step build 30 bash -c "ldd '$PIVOT' | grep 'not found' && exit 1; '$PIVOT' --help >/dev/null"
  log "using prebuilt binaries in $BUILD (scripts/gpu-check.sh --prepare)"
else
  gen=()
  command -v ninja >/dev/null && [ ! -f "$BUILD/CMakeCache.txt" ] && gen=(-G Ninja)
  step build 300 bash -c "cmake -S . -B '$BUILD' ${gen[*]} -DCMAKE_BUILD_TYPE=Release \
    -DPIVOT_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES='$ARCH' && \
    cmake --build '$BUILD' -j$(nproc) --target pivot pivot_conformance_tests pivot_cuda_host_tests"
fi
if [ ! -x "$PIVOT" ]; then
  log "no pivot binary: nothing else can run"
  printf '%s\n' "${STATUS[@]}"
  exit 1
fi

# Random 8B files are written in the background while the GPU runs the tests.
declare -A GEN_PID=()
if [ $HAVE_NUMPY -eq 1 ]; then
  for t in Q4_0 Q8_0 BF16; do
    [ "$BIG" = 1 ] || continue
    timeout 240 $PY bench/make_random_gguf.py --shape llama-3.1-8b --type $t --distinct-layers 2 \
      -o "$WORK/llama3-8b-$t.gguf" >"$WORK/gen-$t.log" 2>&1 &
    GEN_PID[$t]=$!
  done
  if [ ! -f "$SMOL" ]; then
    timeout 240 $PY bench/make_random_gguf.py --shape llama-3.2-1b --type Q4_0 --distinct-layers 2 \
      -o "$WORK/llama-1b-random.gguf" >"$WORK/gen-small.log" 2>&1 &
    GEN_PID[small]=$!
  fi
fi

# ---------------------------------------------------------------- 2. tests
step host-tests 60 "$BUILD/tests/cuda/pivot_cuda_host_tests"
step conformance 300 "$BUILD/tests/conformance/pivot_conformance_tests" \
  --gtest_filter='*cuda_*:ConformanceErrors*:ConformanceWindow*:PagedAttention*'
if grep -q 'backend cuda unavailable' "$WORK/conformance.log"; then
  STATUS+=("FAIL  conformance: the cuda backend did not start (see $WORK/conformance.log)")
  grep -m1 'backend cuda unavailable' "$WORK/conformance.log" | sed 's/^/    /'
fi
grep -E '^\[  (PASSED|FAILED) |tests? ran|SKIPPED \] [0-9]' "$WORK/conformance.log" | sed 's/^/    /' | head -40

# ---------------------------------------------------------------- 3. tiny model end to end
if [ $HAVE_NUMPY -eq 1 ]; then
  step tiny-e2e 240 $PY - "$PIVOT" "$WORK" <<'EOF'
# pivot logits on a tiny random model: cuda against reference, 300 tokens (one
# 256-token batched step through the GEMM path + a 44-token step, and one token
# per step through the matvec kernels), per weight type.
import subprocess, sys
import numpy as np
pivot, work = sys.argv[1], sys.argv[2]
bad = 0
for t in ("Q8_0", "Q4_0", "Q4_1", "BF16"):
    model = f"{work}/tiny-{t}.gguf"
    subprocess.run([sys.executable, "bench/make_random_gguf.py", "--shape", "llama-tiny",
                    "--type", t, "-o", model], check=True, capture_output=True)
    ids = np.random.default_rng(1).integers(0, 50304, 300).astype("<i4")
    ids.tofile(f"{work}/tiny-ids.bin")
    out = {}
    for be, batch in (("reference", "256"), ("cuda", "256"), ("cuda", "1")):
        name = f"{be}-b{batch}"
        subprocess.run([pivot, "logits", "-m", model, "--backend", be, "-b", batch, "--tokens",
                        f"{work}/tiny-ids.bin", "--out", f"{work}/tiny-{name}.bin"], check=True)
        out[name] = np.fromfile(f"{work}/tiny-{name}.bin", dtype="<f4").reshape(300, -1)
    r = out["reference-b256"]
    for name in ("cuda-b256", "cuda-b1"):  # batched (GEMM) steps; one token at a time (matvec)
        c = out[name]
        rel = np.linalg.norm(c - r, axis=1) / np.linalg.norm(r, axis=1)
        agree = np.mean(np.argmax(c, 1) == np.argmax(r, 1))
        ok = rel.max() <= 1e-2 and np.isfinite(c).all()
        bad += not ok
        print(f"{t} {name}: max rel L2 {rel.max():.2e}, argmax agreement {agree:.3f} "
              f"{'ok' if ok else 'BAD'}")
sys.exit(1 if bad else 0)
EOF
  grep -E '^(Q|BF)' "$WORK/tiny-e2e.log" | sed 's/^/    /'
else
  skip tiny-e2e "$PY lacks numpy or gguf"
fi

# ---------------------------------------------------------------- 4. goldens
if [ ! -f "$SMOL" ]; then
  skip goldens "$SMOL not in the model cache (no network here)"
elif ! $PY -c "import numpy" 2>/dev/null; then
  skip goldens "$PY has no numpy"
else
  step goldens 240 $PY tests/py/test_generation_golden.py --pivot "$PIVOT" --backends cuda
  grep -E 'greedy continuation equal|FAIL|run ' "$WORK/goldens.log" | sed 's/^/    /'
fi

# ---------------------------------------------------------------- 5. benchmarks
declare -A BENCH=()
bench() {  # bench LABEL FILE REPS [ARGS...]
  local label=$1 file=$2 reps=$3
  shift 3
  if step "bench-$label" 150 "$PIVOT" bench --device cuda -m "$file" -p 512 -n 128 -r "$reps" \
    --json "$@"; then
    BENCH[$label]=$WORK/bench-$label.log
  fi
}
SMOL_LABEL="SmolLM2-135M Q4_1"
if [ -f "$SMOL" ]; then
  bench smollm2 "$SMOL" 3
elif [ $HAVE_NUMPY -eq 1 ]; then
  SMOL_LABEL="SmolLM2 not cached: Llama-3.2-1B-shaped RANDOM Q4_0 instead"
  log "SmolLM2 not cached: benchmarking a random Llama-3.2-1B-shaped Q4_0 file instead"
  if wait "${GEN_PID[small]}"; then
    bench smollm2 "$WORK/llama-1b-random.gguf" 3
  else
    STATUS+=("FAIL  gen-small (log $WORK/gen-small.log)")
  fi
fi
for t in Q4_0 Q8_0 BF16; do
  if [ -z "${GEN_PID[$t]:-}" ]; then
    if [ "$BIG" = 1 ]; then
      skip "bench-8b-$t" "no numpy/gguf: cannot generate the file"
    else
      skip "bench-8b-$t" "GPU_CHECK_8B=0"
    fi
    continue
  fi
  if ! wait "${GEN_PID[$t]}"; then
    STATUS+=("FAIL  gen-8b-$t (log $WORK/gen-$t.log)")
    log "generating the 8B $t file failed:"
    tail -n 5 "$WORK/gen-$t.log" | sed 's/^/    /'
    continue
  fi
  bench "8b-$t" "$WORK/llama3-8b-$t.gguf" 2 --parallel 32
  rm -f "$WORK/llama3-8b-$t.gguf"
done
HF_TPS=0
if [ $HAVE_TORCH -eq 1 ]; then
  step hf-baseline 200 $PY bench/hf_decode_speed.py --shape llama-3.1-8b --tokens 48 &&
    HF_TPS=$($PY -c "import json,sys; print(json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])['tokens_per_s'])" "$WORK/hf-baseline.log")
else
  skip hf-baseline "torch with CUDA + transformers not importable by $PY"
fi

# ---------------------------------------------------------------- 6. the table
log "done in $(($(date +%s) - START)) s"
$PY - "$HF_TPS" "$SMOL_LABEL" "${BENCH[smollm2]:-}" "${BENCH[8b-Q4_0]:-}" "${BENCH[8b-Q8_0]:-}" \
  "${BENCH[8b-BF16]:-}" <<'EOF' | tee "$WORK/table.txt"
import json, sys
hf = float(sys.argv[1])
labels = [sys.argv[2], "Llama-3.1-8B-shaped RANDOM Q4_0", "Llama-3.1-8B-shaped RANDOM Q8_0",
          "Llama-3.1-8B-shaped RANDOM BF16"]
print()
print("| model | pp512 t/s | tg128 t/s | MB/token | copy BW GB/s | % of BW limit | x HF bf16 eager "
      "| batch-32 decode t/s |")
print("|---|---|---|---|---|---|---|---|")
rows = {}
for label, path in zip(labels, sys.argv[3:]):
    if not path:
        print(f"| {label} | - | - | - | - | - | - | - |")
        continue
    text = open(path).read()
    j, _ = json.JSONDecoder().raw_decode(text[text.index("{"):])
    pp, tg = j["pp"]["tokens_per_s"], j["tg"]["tokens_per_s"]
    lim = j["tg"]["bandwidth_limit_tokens_per_s"]
    bw = j.get("accelerator", {}).get("copy_bw_gbs", 0)
    pct = 100 * tg / lim if lim else 0
    ratio = tg / hf if hf else 0
    rows[label] = (pct, ratio)
    b32 = j.get("tg_batch", {}).get("tokens_per_s")
    print(f"| {label} | {pp:.0f} | {tg:.1f} | {j['tg']['bytes_per_token'] / 1e6:.0f} | {bw:.0f} | "
          f"{pct:.0f}% | {f'{ratio:.1f}x' if hf else '-'} | {f'{b32:.0f}' if b32 else '-'} |")
print(f"\ntransformers bf16 eager decode, 8B shape: {hf:.1f} tokens/s" if hf else
      "\ntransformers baseline: not measured")
print("batch-32 decode: 32 sequences x 128 tokens through Model::forward_batch (pivot bench --parallel 32)")
print("\nacceptance (issue 8, H200 targets):")
for label, need in ((labels[1], 70), (labels[2], 70)):
    if label in rows:
        print(f"  {label}: decode at {rows[label][0]:.0f}% of the copy-bandwidth limit "
              f"(target >= {need}%): {'MET' if rows[label][0] >= need else 'NOT MET'}")
if labels[3] in rows and hf:
    print(f"  {labels[3]}: {rows[labels[3]][1]:.1f}x transformers (target >= 12x): "
          f"{'MET' if rows[labels[3]][1] >= 12 else 'NOT MET'}")
EOF
echo
echo "steps:"
printf '  %s\n' "${STATUS[@]}"
if [ -n "${OUT:-}" ] && [ -d "${OUT:-}" ]; then cp "$WORK"/*.log "$WORK"/table.txt "$OUT"/ 2>/dev/null; fi
printf '%s\n' "${STATUS[@]}" | grep -q '^FAIL' && exit 1
exit 0
