#!/usr/bin/env bash
# Runs every C test program; exits non-zero if any fails.
#
#   c_tests/run_all.sh BIN_DIR KERNEL_DIR [LIB_DIR]
#
# BIN_DIR holds user_test (launch.c), driver_basic, gdev_roundtrip,
# gdev_ghandle, runtime_errors, gdev_suite/*, concurrency/* and cardd/procs; KERNEL_DIR holds
# add_test.cubin, matrix.cubin and busy.cubin; LIB_DIR (default
# BIN_DIR/../lib) holds the real libusdaa.so / libgdev.so, which the stub
# check swaps in for generated stubs through LD_LIBRARY_PATH and LD_PRELOAD.
set -u

BIN=$(cd "${1:?usage: run_all.sh BIN_DIR KERNEL_DIR [LIB_DIR]}" && pwd)
KDIR=$(cd "${2:?usage: run_all.sh BIN_DIR KERNEL_DIR [LIB_DIR]}" && pwd)
LIB=$(cd "${3:-$BIN/../lib}" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=${PY:-$ROOT/.venv/bin/python}
CC=${CC:-gcc}
CUBIN=$KDIR/add_test.cubin
failed=0
passed=0

# check NAME EXPECTED_EXIT PATTERN COMMAND... : the command must exit EXPECTED_EXIT and, when
# that is 0, print a line matching PATTERN (a grep regular expression).
check() {
    local name=$1 want=$2 pattern=$3 out rc
    shift 3
    out=$(cd "$KDIR" && "$@" 2>&1)
    rc=$?
    if [ "$rc" -eq "$want" ] && { [ "$want" -ne 0 ] || grep -q -- "$pattern" <<<"$out"; }; then
        echo "PASS  $name"
        passed=$((passed + 1))
    else
        echo "FAIL  $name (exit $rc, expected $want${pattern:+, output matching $pattern})"
        sed 's/^/      /' <<<"$out" | tail -20
        failed=$((failed + 1))
    fi
}

# run NAME EXPECTED_EXIT COMMAND... : the command's last line must say passed
# (exit 0) or failed (exit 1), matching EXPECTED_EXIT.
run() {
    local name=$1 want=$2
    shift 2
    check "$name" "$want" '^Test passed' "$@"
}

run "launch (defaults)"           0 "$BIN/user_test"
for dev in 0 1 2 3; do
    run "launch -d$dev -s0x10000 -a1"  0 "$BIN/user_test" -d$dev -s0x10000 -a1
done
run "launch -d3 -s0x100000 -a2"   0 "$BIN/user_test" -d3 -s0x100000 -a2
run "launch -d1 -s0x4004 -a7"     0 "$BIN/user_test" -d1 -s0x4004 -a7 -f"$CUBIN"
run "launch -d99 (no such card)"  1 "$BIN/user_test" -d99
run "launch missing cubin"        1 "$BIN/user_test" -f/nonexistent.cubin
run "driver_basic"                0 "$BIN/driver_basic" "$CUBIN"
run "gdev_roundtrip"              0 "$BIN/gdev_roundtrip" "$CUBIN"
run "gdev_ghandle"                0 "$BIN/gdev_ghandle" "$CUBIN"
run "runtime_errors"              0 "$BIN/runtime_errors" "$CUBIN"

# Gdev's classic user tests (run from KERNEL_DIR, where their default code objects are).
SUITE=$BIN/gdev_suite
for prog in madd mmul fmadd fmmul madd_pinned madd_host float loop idle \
            memcpy memcpy_2step memcpy_pinned memcpy_async gdev_matrixadd gdev_memcpy; do
    run "gdev_suite/$prog"                 0 "$SUITE/$prog"
done
run "gdev_suite/madd -d1 -n77"             0 "$SUITE/madd" -d1 -n77
run "gdev_suite/fmmul -n33"                0 "$SUITE/fmmul" -n33
run "gdev_suite/memcpy -n4097"             0 "$SUITE/memcpy" -n4097
run "gdev_suite/madd missing image"        1 "$SUITE/madd" -f/nonexistent.cubin
run "gdev_suite/gdev_matrixadd -d2 -n40"   0 "$SUITE/gdev_matrixadd" -d2 -n40
run "gdev_suite/gdev_memcpy --chunk=4096 --data=1000003 --pl=1" \
                                           0 "$SUITE/gdev_memcpy" --chunk=4096 --data=1000003 --pl=1
run "gdev_suite/gdev_memcpy --chunk=0x10000 --data=0x800000 --pl=4" \
                                           0 "$SUITE/gdev_memcpy" --chunk=0x10000 --data=0x800000 --pl=4
run "gdev_suite/gdev_memcpy --chunk=0 (bad)" 1 "$SUITE/gdev_memcpy" --chunk=0

# Streams, events and threads.  A lost wake-up or dependency would hang until
# the library's sync timeout (minutes), so each run is bounded here.
CONC=$BIN/concurrency
run "concurrency/threads"                  0 timeout 180 "$CONC/threads"
run "concurrency/streams"                  0 timeout 120 "$CONC/streams"
run "concurrency/ordering"                 0 timeout 120 "$CONC/ordering"
run "concurrency/events"                   0 timeout 120 "$CONC/events"
run "concurrency/stress"                   0 timeout 120 "$CONC/stress"

# Processes sharing the card daemon; each run has a daemon of its own (a private runtime
# directory), so killing it disturbs nothing else.
for scenario in memory kill-client kill-daemon other-user gshm overcommit isolation; do
    run "cardd/procs $scenario"            0 timeout 180 "$BIN/cardd/procs" "$scenario"
done

# CUDA programs built by nvcc (c_tests/cuda), run unmodified on this stack's libcudart.so.13.
# printf and assert are also judged by what they print.
CUDA=$BIN/cuda
for prog in vector_add symbols streams_events warp memory config threads peer device_query errors assert printf noptx \
            graphs memory3d thrust_sort managed host_register cooperative graph_nodes graph_params textures pools \
            vector_add_compute80 symbols_compute80 vector_add_gencode warp_gencode \
            streams_events_ptds symbols_ptds config_ptds graphs_ptds memory3d_ptds; do
    run "cuda/$prog"                       0 env LD_LIBRARY_PATH="$LIB" timeout 180 "$CUDA/$prog"
done
# grid-wide barriers on both engines: the JIT above (each block on a thread), the interpreter here
run "cuda/cooperative (interpreter)"       0 env LD_LIBRARY_PATH="$LIB" GDEV_ENGINE=interp timeout 180 "$CUDA/cooperative"
check "cuda/printf output"         0 '^block 1 thread 2 value 42 scaled 3.00$' \
    env LD_LIBRARY_PATH="$LIB" "$CUDA/printf"
check "cuda/assert message"        0 'block: \[1,0,0\], thread: \[8,0,0\] Assertion `p\[i\] < n` failed\.$' \
    env LD_LIBRARY_PATH="$LIB" "$CUDA/assert"
check "cuda/noptx names the flag"  0 'rebuild with PTX embedded, e.g. nvcc -gencode arch=compute_80,code=compute_80' \
    env LD_LIBRARY_PATH="$LIB" "$CUDA/noptx"

# Driver-API programs (c_tests/cuda_driver) on this stack's libcuda.so.1, given the
# directory holding the device code they load.
DRV=$BIN/cuda_driver
for prog in modules basics errors unified graphs graph_nodes modules_ptds basics_ptds unified_ptds graphs_ptds; do
    run "cuda_driver/$prog"                0 env LD_LIBRARY_PATH="$LIB" timeout 180 "$DRV/$prog" "$DRV"
done
check "cuda_driver/modules names the flag" 0 'nvcc -fatbin -gencode arch=compute_75,code=compute_75' \
    env LD_LIBRARY_PATH="$LIB" "$DRV/modules" "$DRV"

# Stubs: launch linked against always-failing libraries fails alone and
# passes once the real library replaces them.
STUBS=$(mktemp -d)
trap 'rm -rf "$STUBS"' EXIT
if "$PY" "$ROOT/c_tests/stubs/gen_stubs.py" "$STUBS" >/dev/null &&
   "$CC" -Wall -Wextra -Werror -shared -fPIC -I"$ROOT/include" "$STUBS/usdaa_stub.c" -o "$STUBS/libusdaa.so" &&
   "$CC" -Wall -Wextra -Werror -shared -fPIC -I"$ROOT/include" "$STUBS/gdev_stub.c" -o "$STUBS/libgdev.so" &&
   "$CC" -Wall -Wextra -Werror -I"$ROOT/include" "$ROOT/c_tests/launch/launch.c" -L"$STUBS" -lusdaa -o "$STUBS/launch" &&
   "$CC" -Wall -Wextra -Werror -I"$ROOT/include" -I"$ROOT/c_tests/common" "$ROOT/c_tests/gdev/gdev_roundtrip.c" \
         -L"$STUBS" -lgdev -o "$STUBS/gdev_roundtrip"; then
    run "launch on stubs alone"            1 env LD_LIBRARY_PATH="$STUBS" "$STUBS/launch"
    run "launch, LD_LIBRARY_PATH=real"     0 env LD_LIBRARY_PATH="$LIB" "$STUBS/launch"
    run "launch, LD_PRELOAD=real"          0 env LD_LIBRARY_PATH="$STUBS" LD_PRELOAD="$LIB/libusdaa.so" "$STUBS/launch"
    run "gdev_roundtrip on stubs alone"    1 env LD_LIBRARY_PATH="$STUBS" "$STUBS/gdev_roundtrip" "$CUBIN"
    run "gdev_roundtrip, LD_PRELOAD=real"  0 env LD_LIBRARY_PATH="$STUBS" LD_PRELOAD="$LIB/libgdev.so" "$STUBS/gdev_roundtrip" "$CUBIN"
else
    echo "FAIL  building the stubs"
    failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
