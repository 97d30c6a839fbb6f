#!/usr/bin/env bash
# make fuzz: builds each libFuzzer harness (swiftc -sanitize=fuzzer,address) against the
# project's own sources and runs it for FUZZ_SECONDS (default 600) with the seeds in
# Tests/Fuzz/seeds/<target>. A crash is written to Tests/Fuzz/regressions/<target>/ —
# commit it: `make test` replays every file there (Tests/UnitTests/FuzzRegressionTests.swift).
# Prints one JSON line per target: runs, execs/s, seconds, crashed.
#   Tests/Fuzz/run.sh [seconds] [target ...]     targets: json yaml protobuf requesthead artefact policyspec calendar csv xml
set -euo pipefail
cd "$(dirname "$0")/../.."
SWIFTC="${SWIFTC:-$(dirname "$(command -v swift || echo /opt/swift/usr/bin/swift)")/swiftc}"
SECONDS_EACH="${1:-${FUZZ_SECONDS:-600}}"
shift || true
TARGETS=("${@:-json yaml protobuf requesthead artefact policyspec calendar csv xml}")
read -r -a TARGETS <<< "${TARGETS[*]}"
OUT=.build/fuzz
mkdir -p "$OUT"
# CPUFeatures is a header-only C module (its module map sits beside the header).
FLAGS=(-sanitize=fuzzer,address -parse-as-library -O -I "$OUT" -L "$OUT" -I Sources/CPUFeatures/include)

# A module of the project as an instrumented static library (dependencies first).
module() {
    local name=$1
    shift
    if [ ! -f "$OUT/lib$name.a" ] || [ -n "$(find "Sources/$name" -newer "$OUT/lib$name.a" -name '*.swift' -print -quit)" ]; then
        "$SWIFTC" "${FLAGS[@]}" -emit-module -emit-library -static -module-name "$name" -emit-module-path "$OUT/$name.swiftmodule" \
            "Sources/$name"/*.swift "$@" -o "$OUT/lib$name.a"
    fi
}

harness() {
    local target=$1
    shift
    "$SWIFTC" "${FLAGS[@]}" -module-name "Fuzz_$target" "Tests/Fuzz/Harnesses/$target.swift" "$@" -o "$OUT/fuzz-$target"
}

build() {
    case $1 in
        json | yaml) module KubeCore; harness "$1" -lKubeCore ;;
        protobuf) module KubeCore; harness protobuf Sources/APIServer/Protobuf.swift -lKubeCore ;;
        requesthead) harness requesthead Sources/Transport/RequestHead.swift Sources/Transport/HTTPHeaders.swift ;;
        xml) harness xml Sources/Cloud/XMLTree.swift ;;
        artefact | calendar | csv) module Digest; module FileIO; module WideKernels; module Forecasting
            harness "$1" -lForecasting -lWideKernels -lFileIO -lDigest ;;
        policyspec) module KubeCore; module Digest; module FileIO; module WideKernels; module Forecasting; module PolicyEngine
            harness policyspec -lPolicyEngine -lForecasting -lWideKernels -lFileIO -lDigest -lKubeCore ;;
        *) echo "unknown fuzz target: $1" >&2; exit 64 ;;
    esac
}

# The linker warns about every sanitizer symbol it cannot export: keep that in a log.
for target in "${TARGETS[@]}"; do build "$target" 2> "$OUT/build-$target.log" || { cat "$OUT/build-$target.log" >&2; exit 1; }; done
status=0
for target in "${TARGETS[@]}"; do
    corpus="$OUT/corpus/$target"
    mkdir -p "$corpus" "Tests/Fuzz/regressions/$target"
    log="$OUT/fuzz-$target.log"
    started=$(date +%s)
    set +e
    "$OUT/fuzz-$target" -max_total_time="$SECONDS_EACH" -print_final_stats=1 -max_len=65536 -timeout=10 -rss_limit_mb=4096 \
        -artifact_prefix="Tests/Fuzz/regressions/$target/" "$corpus" "Tests/Fuzz/seeds/$target" > "$log" 2>&1
    code=$?
    set -e
    ran=$(( $(date +%s) - started ))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    crashed=false
    if [ $code -ne 0 ]; then crashed=true; status=1; tail -30 "$log" >&2; fi
    echo "{\"target\":\"$target\",\"seconds\":$ran,\"runs\":${runs:-0},\"execs_per_second\":${rate:-0},\"crashed\":$crashed}"
done
exit $status
