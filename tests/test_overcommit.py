"""Device memory overcommit across processes: three programs that each need 60% of the
card's VRAM share one daemon's card and all finish with correct results (card/swap.py)."""
from __future__ import annotations

import json
import subprocess
import sys

from helpers import ROOT
from test_cardd import _socket, _status, daemon_env  # noqa: F401  (daemon_env is a fixture)

MiB = 1 << 20
VRAM = 64 * MiB
NEED = 38 * MiB                 # 60% of VRAM: no two of them fit together

STEP_PTX = r"""
.version 7.0
.target sm_80
.address_size 64
.visible .entry step(.param .u64 p, .param .u32 n, .param .u32 k)
{
    .reg .pred %p;
    .reg .b32 %r<8>;
    .reg .b64 %rd<4>;
    ld.param.u64 %rd1, [p];
    ld.param.u32 %r1, [n];
    ld.param.u32 %r2, [k];
    mov.u32 %r3, %ctaid.x;
    mov.u32 %r4, %ntid.x;
    mov.u32 %r5, %tid.x;
    mad.lo.u32 %r6, %r3, %r4, %r5;
    setp.ge.u32 %p, %r6, %r1;
    @%p bra DONE;
    mul.wide.u32 %rd2, %r6, 4;
    add.u64 %rd3, %rd1, %rd2;
    ld.global.u32 %r7, [%rd3];
    mad.lo.u32 %r7, %r7, 3, %r2;
    st.global.u32 [%rd3], %r7;
DONE:
    ret;
}
"""

# One program: a pattern over 60% of VRAM, kernels over all of it in turns with the
# others (a synchronize after each), the result checked; then, holding its memory while
# the test looks at the daemon, the same again.
PROGRAM = f"""
import sys, numpy as np, gdev_shim
tag = int(sys.argv[1])
n = {NEED} // 4
d = gdev_shim.Device(0)
step = d.load_module({STEP_PTX!r}).step
expect = np.arange(n, dtype=np.uint32) * np.uint32(7) + np.uint32(tag)
buf = d.malloc(4 * n)
addr = int(buf)
buf.copy_from(expect)

def rounds(first):
    global expect
    for r in range(first, first + 4):
        step(buf, np.uint32(n), np.uint32(r + tag), grid=n // 256, block=256)
        d.synchronize()
        expect = expect * np.uint32(3) + np.uint32(r + tag)
    got = buf.to_numpy(np.uint32)
    bad = np.flatnonzero(got != expect)
    return "ok" if bad.size == 0 else f"{{bad.size}} wrong words, first at {{bad[0]}}"

print("pass1", rounds(0), flush=True)
sys.stdin.readline()
print("pass2", rounds(4), int(buf) == addr, flush=True)
"""


def test_three_programs_each_needing_60_percent_of_vram_all_finish_correctly(daemon_env):  # noqa: F811
    env = {**daemon_env, "GDEV_SIM_VRAM": "64M"}
    procs = [subprocess.Popen([sys.executable, "-c", PROGRAM, str(tag)], cwd=ROOT, env=env, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for tag in (1, 2, 3)]
    try:
        for p in procs:
            line = p.stdout.readline().strip()
            assert line == "pass1 ok", p.stderr.read() if not line else line
        # all three hold their memory now: what does not fit is swapped out, per process
        card = _status(_socket(env))["cards"][0]
        clients = [c for c in card["clients"] if c.get("vram", 0) >= NEED]
        assert len(clients) == 3
        assert card["vram_total"] == VRAM and card["vram_used"] <= VRAM
        assert sum(c["swapped"] for c in clients) >= 3 * NEED - VRAM
        assert card["vram_swapped"] == sum(c["swapped"] for c in card["clients"])
        assert card["swap"]["out_bytes"] >= NEED and card["swap"]["in_bytes"] >= NEED
        smi = subprocess.run([sys.executable, "-m", "gdev_shim.smi", "--json"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
        snap = json.loads(smi.stdout)["cards"][0]
        assert sum(p["vram_swapped"] for p in snap["processes"]) >= 3 * NEED - VRAM, smi.stderr
        for p in procs:
            p.stdin.write("\n")
            p.stdin.flush()
        for p in procs:
            out, err = p.communicate(timeout=240)
            assert p.returncode == 0 and out.strip() == "pass2 ok True", err
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
