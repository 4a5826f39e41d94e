"""The sanitizer (GDEV_MEMCHECK): each tool catches its seeded bug and reports nothing on clean kernels.

Every case runs in a fresh process, because the sanitizer is chosen when the
cards are created; findings come back as the JSON report.  Every test that runs a
kernel runs on both engines (GDEV_ENGINE=interp and =jit, which never falls back);
tests/test_sanitizer_corpus.py runs the clean corpus under every tool.
"""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from helpers import ADD_TEST, ROOT, TESTS

KERNELS = TESTS / "sanitizer_kernels" / "seeded_bugs.cu"

PRELUDE = """
import numpy as np
from gdev_shim.common.image import build_image
from gdev_shim.driver import context as dctx, memory as dmem, stream as dstream
from gdev_shim.driver.errors import SdError
from gdev_shim.driver.module import Module

ctx = dctx.Context(1)
mod = Module(ctx, build_image(open(PTX).read()))

def args(*values):
    return b"".join(v.to_bytes(8, "little") if v > 1 << 32 else v.to_bytes(4, "little") for v in values)

def run(name, grid, block, params):
    try:
        dstream.launch(None, mod.function(name), grid, block, 0, params)
        ctx.synchronize()
        return "ok"
    except SdError as e:
        return e.name
"""


@pytest.fixture(scope="module")
def ptx_files(compile_ptx, tmp_path_factory):
    out = tmp_path_factory.mktemp("san")
    texts = compile_ptx([KERNELS, ADD_TEST])
    paths = {}
    for src, text in texts.items():
        path = out / (src.stem + ".ptx")
        path.write_text(text)
        paths[src.stem] = path
    return paths


def sanitize(ptx: Path, body: str, tools: str, tmp_path: Path,
             engine: str = "auto", **extra: str) -> tuple[str, list[dict]]:
    report = tmp_path / f"report-{engine}.json"
    env = dict(os.environ, GDEV_MEMCHECK=tools, GDEV_MEMCHECK_REPORT=str(report), PYTHONPATH=str(ROOT),
               GDEV_ENGINE=engine, **extra)
    script = f"PTX = {str(ptx)!r}\n" + PRELUDE + textwrap.dedent(body)
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    findings = json.loads(report.read_text())["findings"] if report.exists() else []
    return proc.stdout.strip(), findings

ENGINES = ["interp", "jit"]


@pytest.mark.parametrize("engine", ENGINES)
def test_memcheck_reports_out_of_bounds_writes_and_aborts(ptx_files, tmp_path, engine):
    out, findings = sanitize(ptx_files["seeded_bugs"], """
        a = dmem.alloc(ctx, 64 * 4)
        print(run("oob_write", (1, 1, 1), (32, 1, 1), args(a, 64)))   # the context is failed now
        print(run("read_input", (1, 1, 1), (32, 1, 1), args(a, a, 32)))
    """, "memcheck", tmp_path, engine)
    assert out.split() == ["SDAA_ERROR_LAUNCH_FAILED"] * 2       # the context stays failed
    mem = [f for f in findings if f["tool"] == "memcheck"]
    assert mem and all(f["kernel"] == "oob_write" for f in mem)
    assert "out-of-bounds" in mem[0]["kind"] and "write" in mem[0]["kind"]
    assert mem[0]["thread"] == [0, 0, 0] and mem[0]["instruction"].startswith("line ")
    assert "0 bytes after the 256-byte buffer" in mem[0]["allocation"]


@pytest.mark.parametrize("engine", ENGINES)
def test_memcheck_names_use_after_free(ptx_files, tmp_path, engine):
    out, findings = sanitize(ptx_files["seeded_bugs"], """
        a, b = dmem.alloc(ctx, 4096), dmem.alloc(ctx, 4096)
        dmem.free(None, a)
        print(run("read_input", (1, 1, 1), (32, 1, 1), args(a, b, 32)))
    """, "memcheck", tmp_path, engine)
    assert out == "SDAA_ERROR_LAUNCH_FAILED"
    assert any(f["kind"].startswith("use after free") for f in findings)


INITCHECK_BUG = """
    a, b = dmem.alloc(ctx, 4096), dmem.alloc(ctx, 4096)
    data = np.arange(16, dtype=np.int32)
    dstream.copy_htod(None, a, data.ctypes.data, 64, sync=True)     # only the first 16 ints
    print(run("read_input", (1, 1, 1), (32, 1, 1), args(a, b, 32)))
    dmem.free(None, a); dmem.free(None, b)
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_initcheck_reports_reads_of_never_written_memory(ptx_files, tmp_path, engine):
    out, findings = sanitize(ptx_files["seeded_bugs"], INITCHECK_BUG, "initcheck", tmp_path, engine)
    assert out == "ok"                                   # initcheck reports but does not abort
    init = [f for f in findings if f["tool"] == "initcheck"]
    assert len(init) >= 1 and init[0]["thread"] == [16, 0, 0]
    assert "16 more lanes" not in init[0]["detail"] and "15 more lanes" in init[0]["detail"]


def test_initcheck_findings_are_the_same_on_both_engines(ptx_files, tmp_path):
    found = [[{k: f[k] for k in SAME + ("detail",)} for f in
              sanitize(ptx_files["seeded_bugs"], INITCHECK_BUG, "initcheck", tmp_path, engine)[1]]
             for engine in ENGINES]
    assert found[0] and found[0] == found[1]


# Bytes written by a copy of 13 bytes at offset 1 and a memset of 5 at offset 20: each int
# holding some unwritten byte is reported, whichever of its bytes that is.
PARTIAL_BYTES = """
    a, b = dmem.alloc(ctx, 4096), dmem.alloc(ctx, 4096)
    data = np.arange(13, dtype=np.uint8)
    dstream.copy_htod(None, a + 1, data.ctypes.data, 13, sync=True)    # bytes 1..13
    dstream.memset(None, a + 20, 7, 1, 5, sync=True)                     # bytes 20..24
    dstream.memset(None, a + 32, 0, 4, 4, sync=True)                     # bytes 32..47
    print(run("read_input", (1, 1, 1), (32, 1, 1), args(a, b, 12)))
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_initcheck_tells_partly_written_words_at_byte_granularity(ptx_files, tmp_path, engine):
    out, findings = sanitize(ptx_files["seeded_bugs"], PARTIAL_BYTES, "initcheck", tmp_path, engine)
    assert out == "ok"
    init = [f for f in findings if f["tool"] == "initcheck"]
    # int 0 lacks byte 0, int 3 bytes 14 and 15, int 4 all, int 6 bytes 25..27 (24 is
    # written), int 7 all; ints 1, 2, 5 and 8..11 are whole.  Four lanes are named.
    assert [f["thread"][0] for f in init] == [0, 3, 4, 6]
    assert "and 4 more lanes" in init[0]["detail"]


def test_initcheck_partial_bytes_findings_are_the_same_on_both_engines(ptx_files, tmp_path):
    found = [[{k: f[k] for k in SAME + ("detail",)} for f in
              sanitize(ptx_files["seeded_bugs"], PARTIAL_BYTES, "initcheck", tmp_path, engine)[1]]
             for engine in ENGINES]
    assert found[0] and found[0] == found[1]


@pytest.mark.parametrize("engine", ENGINES)
def test_initcheck_keeps_every_byte_many_blocks_mark_at_once(ptx_files, tmp_path, engine):
    """64 blocks of 256 threads write interleaved bytes (every shadow byte set by eight
    blocks, on several host threads under the JIT): reading them all back finds nothing
    unwritten, and the bytes past them are reported."""
    out, findings = sanitize(ptx_files["seeded_bugs"], """
        for _ in range(4):
            a, b = dmem.alloc(ctx, 64 * 256 + 64), dmem.alloc(ctx, 64 * 256 + 64)
            r = run("interleaved_bytes", (64, 1, 1), (256, 1, 1), args(a))
            print(r, run("read_input", (64, 1, 1), (64, 1, 1), args(a, b, 64 * 64)))
        print(run("read_input", (1, 1, 1), (32, 1, 1), args(a + 64 * 256 - 64, b, 32)))
    """, "initcheck", tmp_path, engine)
    assert out.split() == ["ok"] * 9
    init = [f for f in findings if f["tool"] == "initcheck"]
    assert [f["thread"][0] for f in init] == [16, 17, 18, 19] and "15 more lanes" in init[0]["detail"]


@pytest.mark.parametrize("engine", ENGINES)
def test_racecheck_reports_a_missing_barrier(ptx_files, tmp_path, engine):
    out, findings = sanitize(ptx_files["seeded_bugs"], """
        o = dmem.alloc(ctx, 64 * 4)
        print(run("shared_race", (1, 1, 1), (64, 1, 1), args(o)))
        print(run("clean_reverse", (1, 1, 1), (64, 1, 1), args(o)))
        dmem.free(None, o)
    """, "racecheck", tmp_path, engine)
    assert out.split() == ["ok", "ok"]
    races = [f for f in findings if f["tool"] == "racecheck"]
    assert races and all(f["kernel"] == "shared_race" for f in races)
    # the write comes first in the program, whichever warp the engine ran first
    assert races[0]["kind"] == "RAW hazard on shared memory"
    assert races[0]["allocation"].startswith("shared byte offset ")
    (first, how1), (second, how2) = races[0]["extra"]["accesses"]
    assert (how1, how2) == ("write", "read") and first < second


# What a hazard is does not depend on the engine: the two accesses, in program order, and
# so the kind; each is reported once per launch.  Which thread finds it (and so the
# reporting instruction) follows the order the engine ran the warps in.
HAZARD = ("tool", "kind", "kernel", "size", "extra")
RACES = {"shared_race": "RAW", "war_race": "WAR", "waw_race": "WAW"}


@pytest.mark.parametrize("kernel", sorted(RACES))
def test_racecheck_hazards_are_the_same_on_both_engines(ptx_files, tmp_path, kernel):
    found = [[json.dumps({k: f[k] for k in HAZARD}, sort_keys=True)
              for f in sanitize(ptx_files["seeded_bugs"], f"""
        o = dmem.alloc(ctx, 2 * 64 * 4)
        print(run({kernel!r}, (2, 1, 1), (64, 1, 1), args(o)))
        print(run({kernel!r}, (2, 1, 1), (64, 1, 1), args(o)))
        dmem.free(None, o)
    """, "racecheck", tmp_path, engine)[1]] for engine in ENGINES]
    # two launches, two blocks each: one finding per launch, on either engine
    assert len(found[0]) == 2 and found[0] == found[1]
    hazard = json.loads(found[0][0])
    assert hazard["kind"] == f"{RACES[kernel]} hazard on shared memory"
    (first, how1), (second, how2) = hazard["extra"]["accesses"]
    assert first <= second and how1 + how2 == {"RAW": "writeread", "WAR": "readwrite",
                                                "WAW": "writewrite"}[RACES[kernel]]


def test_racecheck_partial_warps_on_contiguous_words_are_the_same_on_both_engines(ptx_files, tmp_path):
    """Masked writes of disjoint words by two warps are no hazard; a third warp's masked read
    of the first one's words is, against the first warp's write (the second's masked write
    left those words' records as they were)."""
    found = [sanitize(ptx_files["seeded_bugs"], """
        o = dmem.alloc(ctx, 96 * 4)
        print(run("masked_race", (1, 1, 1), (96, 1, 1), args(o)))
        dmem.free(None, o)
    """, "racecheck", tmp_path, engine)[1] for engine in ENGINES]
    same = [[{k: f[k] for k in SAME + ("extra",)} for f in races] for races in found]
    assert len(same[0]) == 1 and same[0] == same[1]
    assert same[0][0]["kind"] == "RAW hazard on shared memory" and same[0][0]["thread"] == [65, 0, 0]


@pytest.mark.parametrize("engine", ENGINES)
def test_racecheck_names_the_lowest_block_that_met_the_hazard(ptx_files, tmp_path, engine):
    """64 blocks run the racy code, block 0 last (it spins first; on the JIT the blocks run
    on several host threads): each launch still names block 0's thread, the same one."""
    spin = 200_000 if engine == "jit" else 10
    _, found = sanitize(ptx_files["seeded_bugs"], f"""
        o = dmem.alloc(ctx, 64 * 64 * 4)
        for _ in range(4):
            print(run("slow_block_race", (64, 1, 1), (64, 1, 1), args(o, {spin})))
        dmem.free(None, o)
    """, "racecheck", tmp_path, engine)
    assert len(found) == 4
    assert all(f["block"] == [0, 0, 0] and f["thread"] == found[0]["thread"] for f in found)


@pytest.mark.parametrize("engine", ENGINES)
def test_racecheck_tells_bytes_of_one_word_apart(ptx_files, tmp_path, engine):
    """Two warps write alternate bytes of the same words: no hazard (the JIT keeps a record
    per word only in kernels whose shared accesses are all whole words)."""
    out, found = sanitize(ptx_files["seeded_bugs"], """
        o = dmem.alloc(ctx, 64)
        print(run("clean_interleaved_bytes", (1, 1, 1), (64, 1, 1), args(o)))
        got = np.zeros(64, np.uint8)
        dstream.copy_dtoh(None, got.ctypes.data, o, 64, sync=True)
        print(bool((got == np.arange(64)).all()))
        dmem.free(None, o)
    """, "racecheck", tmp_path, engine)
    assert out.split() == ["ok", "True"] and found == []


def test_racecheck_findings_on_one_word_read_by_every_lane_are_the_same_on_both_engines(ptx_files, tmp_path):
    """Warp 0 writes a word, then every lane of both warps reads it: a read after write by
    warp 1 in either engine's order (the JIT checks a warp reading one word as a vector)."""
    found = [sanitize(ptx_files["seeded_bugs"], """
        o = dmem.alloc(ctx, 64 * 4)
        print(run("broadcast_race", (1, 1, 1), (64, 1, 1), args(o)))
        dmem.free(None, o)
    """, "racecheck", tmp_path, engine)[1] for engine in ENGINES]
    first = [[{k: f[k] for k in SAME} for f in races][:1] for races in found]
    assert first[0] and first[0] == first[1]
    assert first[0][0]["kind"] == "RAW hazard on shared memory" and first[0][0]["thread"] == [32, 0, 0]


STRETCH = """
    n = 32
    a = (np.arange(n * n, dtype=np.float32) % 7).reshape(n, n)
    b = (np.arange(n * n, dtype=np.float32) % 5).reshape(n, n)
    pa, pb, pc = (dmem.alloc(ctx, 4 * n * n) for _ in range(3))
    dstream.copy_htod(None, pa, a.ctypes.data, 4 * n * n, sync=True)
    dstream.copy_htod(None, pb, b.ctypes.data, 4 * n * n, sync=True)
    one_tile = ((1, 1, 1), args(pa, pc))
    grid, params = {"clean_tile_matmul": ((2, 2, 1), args(pa, pb, pc, n)),
                    "tile_raw_race": ((2, 2, 1), args(pa, pb, pc, n)),
                    "bounded_tile_raw_race": ((2, 2, 1), args(pa, pb, pc, n, n, n)),
                    "tile_war_race": ((1, 1, 1), args(pa, pb, pc))}.get(KERNEL, one_tile)
    print(run(KERNEL, grid, (16, 16, 1), params))
    c = np.zeros((n, n), np.float32)
    dstream.copy_dtoh(None, c.ctypes.data, pc, 4 * n * n, sync=True)
    print(bool(np.allclose(c, a @ b)))
"""
# the JIT checking each shared load on its own (jit/racebatch.py planning no stretch)
PER_LOAD = "import gdev_shim.jit.racebatch as racebatch\nracebatch.plan = lambda *_: {}\n"


def _stretch_runs(ptx: Path, kernel: str, tmp_path: Path) -> dict[str, tuple[str, list[dict]]]:
    """A kernel of 16x16 blocks under racecheck on the interpreter, on the JIT (its
    optimised code, where stretches of loads are checked at once) and on the JIT with a
    check per load, each with a JIT cache of its own."""
    out = {}
    for name, engine, prefix in (("interp", "interp", ""), ("jit", "jit", ""), ("per_load", "jit", PER_LOAD)):
        runs = tmp_path / name
        runs.mkdir()
        out[name] = sanitize(ptx, prefix + f"KERNEL = {kernel!r}\n" + textwrap.dedent(STRETCH), "racecheck",
                             runs, engine, GDEV_CACHE_DIR=str(runs / "cache"), GDEV_JIT_TIER="opt")
    return out


@pytest.mark.parametrize("kernel, kind", [("tile_raw_race", "RAW"), ("bounded_tile_raw_race", "RAW"),
                                          ("tile_war_race", "WAR"),
                                          ("halo_war_race", "WAR"), ("self_product_war_race", "WAR")])
def test_racecheck_of_a_stretch_of_loads_at_once_finds_what_each_load_finds(ptx_files, tmp_path, kernel, kind):
    """Stretches of shared loads checked together: a tiled matmul's unrolled inner loop
    (a missing first barrier: a hazard in the stretch itself, also in the corpus's
    bounds-checked form whose loop counters reuse %tid's registers; a missing second one:
    later writes meet the reads the stretch recorded), a stencil's reads (a warp's rows overlap)
    and a tile times itself (reads by row and by column of the same words), each followed
    by writes meeting what they recorded.  Every finding is what the loads checked one by
    one find, and the first one the interpreter's."""
    runs = _stretch_runs(ptx_files["seeded_bugs"], kernel, tmp_path)
    found = {name: [{k: f[k] for k in SAME + ("extra",)} for f in got[1]] for name, got in runs.items()}
    assert runs["jit"][0].split()[0] == "ok" and found["jit"]
    assert found["jit"] == found["per_load"]
    for name in ("interp", "jit"):
        assert {f["kind"] for f in found[name]} == {f"{kind} hazard on shared memory"}
    if kind == "WAR":
        assert found["interp"][0] == found["jit"][0]


def test_racecheck_of_a_clean_tiled_matmul_finds_nothing(ptx_files, tmp_path):
    runs = _stretch_runs(ptx_files["seeded_bugs"], "clean_tile_matmul", tmp_path)
    assert {name: (out.split(), found) for name, (out, found) in runs.items()} == \
        {name: (["ok", "True"], []) for name in runs}


def test_leakcheck_reports_memory_never_freed(ptx_files, tmp_path):
    """No kernel runs: the leak check is the driver's, whatever the engine."""
    _, findings = sanitize(ptx_files["seeded_bugs"], """
        kept = dmem.alloc(ctx, 12288)
        gone = dmem.alloc(ctx, 4096)
        dmem.free(None, gone)
        print(hex(kept))
    """, "memcheck", tmp_path)
    leaks = [f for f in findings if f["tool"] == "leakcheck"]
    assert len(leaks) == 1 and leaks[0]["size"] == 12288


# bug -> (the program, the kind of its first finding)
MEMCHECK_BUGS = {
    "out of bounds": ("""
        a = dmem.alloc(ctx, 64 * 4)
        print(run("oob_write", (2, 1, 1), (64, 1, 1), args(a, 100)))
    """, "out-of-bounds access (write)"),
    "use after free": ("""
        a, b = dmem.alloc(ctx, 4096), dmem.alloc(ctx, 4096)
        dmem.free(None, a)
        print(run("read_input", (1, 1, 1), (32, 1, 1), args(a, b, 32)))
    """, "use after free (read)"),
    "misaligned": ("""
        a, b = dmem.alloc(ctx, 4096), dmem.alloc(ctx, 4096)
        print(run("read_input", (1, 1, 1), (32, 1, 1), args(a + 2, b, 32)))
    """, "misaligned access (read)"),
    "another card": ("""
        from gdev_shim.card.card import vram_base
        b = dmem.alloc(ctx, 4096)
        print(run("read_input", (1, 1, 1), (32, 1, 1), args(vram_base(2) + 4096, b, 32)))
    """, "access to another card's memory (read)"),
}
# what identifies a finding; how many more lanes the access had is the interpreter's alone
# (the native engine stops at the first bad lane)
SAME = ("tool", "kind", "kernel", "block", "thread", "instruction", "address", "size", "allocation")


@pytest.mark.parametrize("bug", sorted(MEMCHECK_BUGS))
def test_memcheck_findings_are_the_same_on_both_engines(ptx_files, tmp_path, bug):
    """memcheck runs on the JIT: the same first finding and the same abort as the interpreter."""
    program, kind = MEMCHECK_BUGS[bug]
    runs = {engine: sanitize(ptx_files["seeded_bugs"], program, "memcheck", tmp_path, engine)
            for engine in ENGINES}
    (out_i, found_i), (out_j, found_j) = runs["interp"], runs["jit"]
    assert out_i == out_j == "SDAA_ERROR_LAUNCH_FAILED"
    first = [[{k: f[k] for k in SAME} for f in found if f["tool"] == "memcheck"][:1]
             for found in (found_i, found_j)]
    assert first[0] and first[0] == first[1]
    assert first[0][0]["kind"] == kind


@pytest.mark.parametrize("engine", ENGINES)
def test_memcheck_clean_kernels_report_nothing_on_either_engine(ptx_files, tmp_path, engine):
    out, findings = sanitize(ptx_files["add_test"], """
        n = 5000
        bufs = [dmem.alloc(ctx, 4 * n + 4 * k) for k in range(3)]   # sizes that end mid-page
        x = np.arange(n, dtype=np.int32)
        for p in bufs[:2]:
            dstream.copy_htod(None, p, x.ctypes.data, 4 * n, sync=True)
        r1 = run("add_test", (20, 1, 1), (256, 1, 1), args(*bufs, n))
        y = np.zeros(n, np.int32)
        dstream.copy_dtoh(None, y.ctypes.data, bufs[2], 4 * n, sync=True)
        print(r1, bool((y == 2 * x).all()))
        for p in bufs:
            dmem.free(None, p)
    """, "memcheck", tmp_path, engine)
    assert out == "ok True"
    assert findings == []


@pytest.mark.parametrize("engine", ENGINES)
def test_clean_kernels_report_nothing(ptx_files, tmp_path, engine):
    out, findings = sanitize(ptx_files["add_test"], """
        n = 5000
        bufs = [dmem.alloc(ctx, 4 * n) for _ in range(3)]
        x = np.arange(n, dtype=np.int32)
        for p in bufs[:2]:
            dstream.copy_htod(None, p, x.ctypes.data, 4 * n, sync=True)
        r1 = run("add_test", (20, 1, 1), (256, 1, 1), args(*bufs, n))
        r2 = run("add_test", (2, 1, 1), (32, 1, 1), args(*bufs, n))
        y = np.zeros(n, np.int32)
        dstream.copy_dtoh(None, y.ctypes.data, bufs[2], 4 * n, sync=True)
        print(r1, r2, bool((y == 2 * x).all()))
        for p in bufs:
            dmem.free(None, p)
    """, "all", tmp_path, engine)
    assert out == "ok ok True"
    assert findings == []


@pytest.mark.parametrize("write, against_write, earlier, line, kind", [
    (False, True, 18, 20, "RAW hazard"),     # a read meets a write on a lower line
    (False, True, 22, 20, "WAR hazard"),     # ... on a higher line: the read comes first
    (True, False, 20, 18, "RAW hazard"),     # a write meets a read on a higher line
    (True, False, 18, 20, "WAR hazard"),
    (True, True, 30, 18, "WAW hazard"),
    (True, False, 20, 20, "WAR hazard"),     # one line (a loop): the order they ran in
    (False, True, 20, 20, "RAW hazard"),
])
def test_a_hazards_kind_follows_program_order(write, against_write, earlier, line, kind):
    from gdev_shim.common.findings import hazard_kind, hazard_lines, line_of
    assert hazard_kind(write, against_write, earlier, line) == kind
    pair = hazard_lines(write, against_write, earlier, line)["accesses"]
    assert pair == sorted(pair) and {n for n, _ in pair} == {earlier, line}
    assert line_of("line 36: st.global.u32 [%rd4], %r5;") == 36 and line_of("st.shared.u32") == 0
