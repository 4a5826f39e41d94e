"""Runs the rows of docs/errors.md against the real libraries through cffi's ABI mode.

Used as a script in a fresh process (the libraries keep process-wide state):

    python tests/errors_abi.py docs/errors.md        -> one JSON result line per row

and imported by the code other tests run in such processes (`open_libraries`).

A row names a function, the arguments that differ from that function's valid
baseline call (BASELINE below) and the code the call must return.  Arguments
are tokens: world objects (`ctx`, `dptr`, `rstream`, `gh`, ...), hostile
values (`NULL`, `never`, `destroyed-ctx`, `freed-dptr`, `max`, ...), literals
(`-1`, `0x7`) and `name+N` offsets.  `@before-init` and `@after-reset` in the
argument column are states the row runs in instead of arguments.

After every row the harness checks that the library is still usable (a
copy round trip through the same API) and, for the runtime, that the code
was also recorded as the thread's last error.
"""
from __future__ import annotations

import errno
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import cffi

from gdev_shim.common.contract import cdef_source
from helpers import CUBIN, INCLUDE_DIR, LIB_DIR

HEADERS = {"usdaa": ("sdaa.h", "sdaa_runtime.h"), "gdev": ("gdev_api.h",)}
TABLE_BEGIN, TABLE_END = "<!-- errors-table:begin -->", "<!-- errors-table:end -->"
BUF = 4096                  # bytes of every world allocation
VRAM_BASE0 = 0x0010_0000_0000_0000   # card 0's device address slice (card.py's map)
NEVER_HANDLE = 0x5EED_0000_1000      # an address no handle table hands out
NEVER_INT_HANDLE = 987654            # a runtime stream/event number never issued


# ---- the table ------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    function: str
    condition: str
    args: str
    code: str

    @property
    def states(self) -> set[str]:
        return {t[1:] for t in self.args.split() if t.startswith("@")}

    @property
    def overrides(self) -> dict[str, str]:
        pairs = [t.split("=", 1) for t in self.args.split() if "=" in t and not t.startswith("@")]
        return {k: v for k, v in pairs}


def parse_table(markdown: str) -> list[Row]:
    """The rows between the table markers: | function | condition | arguments | code |."""
    try:
        body = markdown.split(TABLE_BEGIN, 1)[1].split(TABLE_END, 1)[0]
    except IndexError:
        raise ValueError("docs/errors.md has no errors-table markers") from None
    rows = []
    for line in body.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("function", "") or set(cells[0]) <= {"-", ":"}:
            continue
        rows.append(Row(*cells))
    return rows


# ---- prototypes -----------------------------------------------------------------------
@dataclass(frozen=True)
class Proto:
    library: str
    result: str
    name: str
    params: list[tuple[str, str]]      # (C type, name)


_PROTO = re.compile(r"^([A-Za-z_][\w\s\*]*?)\s*\b(\w+)\s*\(([^()]*)\)$")


def prototypes() -> dict[str, Proto]:
    """Every function declared in the public headers, with its parameter names."""
    found = {}
    for library, headers in HEADERS.items():
        for header in headers:
            text = cdef_source((INCLUDE_DIR / header).read_text())
            text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
            text = re.sub(r"^\s*#.*$", " ", text, flags=re.M)
            for piece in re.sub(r"\s+", " ", text).split(";"):
                piece = piece.strip().rsplit("}", 1)[-1].strip()
                m = _PROTO.match(piece)
                if m is None or m.group(1).startswith("typedef"):
                    continue
                result, name, raw = m.group(1).strip(), m.group(2), m.group(3).strip()
                params = []
                if raw and raw != "void":
                    for p in raw.split(","):
                        pm = re.match(r"^(.*?)(\w+)$", p.strip())
                        params.append((pm.group(1).strip(), pm.group(2)))
                found[name] = Proto(library, result, name, params)
    return found


# ---- baseline (valid) calls: parameter -> token ---------------------------------------
_B = {
    # driver
    "sdInit": "flags=0", "sdDriverGetVersion": "driverVersion=out",
    "sdDeviceGet": "device=out ordinal=0", "sdDeviceGetCount": "count=out",
    "sdDeviceGetName": "name=out len=64 dev=0", "sdDeviceTotalMem": "bytes=out dev=0",
    "sdDeviceComputeCapability": "major=out minor=out dev=0",
    "sdDeviceGetAttribute": "pi=out attrib=1 dev=0", "sdDeviceGetProperties": "prop=out dev=0",
    "sdCtxCreate": "pctx=out flags=0 dev=0", "sdCtxDestroy": "ctx=new-ctx",
    "sdCtxGetCurrent": "pctx=out", "sdCtxSetCurrent": "ctx=ctx", "sdCtxPushCurrent": "ctx=ctx",
    "sdCtxPopCurrent": "pctx=out", "sdCtxGetDevice": "device=out", "sdCtxSynchronize": "",
    "sdModuleLoad": "module=out fname=cubin-path", "sdModuleLoadData": "module=out image=image",
    "sdModuleLoadDataEx": "module=out image=image numOptions=0 options=NULL optionValues=NULL",
    "sdModuleUnload": "hmod=new-mod",
    "sdModuleGetFunction": "hfunc=out hmod=mod name=str:add_test",
    "sdModuleGetGlobal": "dptr=out bytes=out hmod=mod name=str:nothing",
    "sdFuncGetAttribute": "pi=out attrib=0 hfunc=fn",
    "sdFuncSetBlockShape": "hfunc=fn x=32 y=1 z=1", "sdFuncSetSharedSize": "hfunc=fn bytes=0",
    "sdParamSetSize": "hfunc=fn numbytes=28", "sdParamSeti": "hfunc=fn offset=24 value=0",
    "sdParamSetf": "hfunc=fn offset=24 value=0", "sdParamSetv": "hfunc=fn offset=0 ptr=host numbytes=8",
    "sdLaunch": "f=fn num=1 hStream=NULL", "sdLaunchGrid": "f=fn grid_width=1 grid_height=1",
    "sdLaunchGridAsync": "f=fn grid_width=1 grid_height=1 hStream=NULL",
    "sdLaunchKernel": "f=fn gridDimX=1 gridDimY=1 gridDimZ=1 blockDimX=32 blockDimY=1 blockDimZ=1 "
                      "sharedMemBytes=0 hStream=NULL kernelParams=params extra=NULL",
    "sdMemAlloc": "dptr=out bytesize=4096", "sdMemFree": "dptr=new-dptr",
    "sdMemAllocHost": "pp=out bytesize=4096", "sdMemFreeHost": "p=new-pinned",
    "sdMemHostAlloc": "pp=out bytesize=4096 Flags=0",
    "sdMemHostGetDevicePointer": "pdptr=out p=pinned Flags=0",
    "sdMemGetInfo": "freeBytes=out totalBytes=out", "sdMemGetPhysAddr": "phys=out dptr=dptr",
    "sdMemcpyHtoD": "dstDevice=dptr srcHost=host ByteCount=4096",
    "sdMemcpyDtoH": "dstHost=host srcDevice=dptr ByteCount=4096",
    "sdMemcpyDtoD": "dstDevice=dptr srcDevice=dptr2 ByteCount=4096",
    "sdMemcpyHtoDAsync": "dstDevice=dptr srcHost=host ByteCount=4096 hStream=stream",
    "sdMemcpyDtoHAsync": "dstHost=host srcDevice=dptr ByteCount=4096 hStream=stream",
    "sdMemcpyDtoDAsync": "dstDevice=dptr srcDevice=dptr2 ByteCount=4096 hStream=stream",
    "sdMemsetD8": "dstDevice=dptr uc=1 N=4096", "sdMemsetD16": "dstDevice=dptr us=1 N=2048",
    "sdMemsetD32": "dstDevice=dptr ui=1 N=1024",
    "sdStreamCreate": "phStream=out Flags=0", "sdStreamDestroy": "hStream=new-stream",
    "sdStreamQuery": "hStream=stream", "sdStreamSynchronize": "hStream=stream",
    "sdStreamWaitEvent": "hStream=stream hEvent=event Flags=0",
    "sdEventCreate": "phEvent=out Flags=0", "sdEventDestroy": "hEvent=new-event",
    "sdEventRecord": "hEvent=event hStream=stream", "sdEventQuery": "hEvent=event",
    "sdEventSynchronize": "hEvent=event", "sdEventElapsedTime": "pMilliseconds=out hStart=event hEnd=event2",
    "sdGetErrorString": "error=1 pStr=out", "sdGetErrorName": "error=1 pStr=out",
    # runtime
    "__sdaaRegisterFatBinary": "fatCubin=fatcubin", "__sdaaUnregisterFatBinary": "fatCubinHandle=new-fatbin",
    "__sdaaRegisterFunction": "fatCubinHandle=fatbin deviceFun=str:add_test",
    "sdaaConfigureCall": "arrayNum=1", "sdaaSetupArgument": "arg=host size=8 offset=0",
    "sdaaLaunch": "entry=str:add_test", "sdaaLaunchAsync": "entry=str:add_test stream=0",
    "sdaaFuncGetAttributes": "attr=out func=str:add_test",
    "sdaaMalloc": "devPtr=out size=4096", "sdaaMallocHost": "ptr=out size=4096",
    "sdaaHostAlloc": "pHost=out size=4096 flags=0", "sdaaFree": "devPtr=new-rptr",
    "sdaaFreeHost": "ptr=new-rpinned",
    "sdaaMemcpy": "dst=rptr src=host count=4096 kind=1",
    "sdaaMemcpyAsync": "dst=rptr src=host count=4096 kind=1 stream=rstream",
    "sdaaMemset": "devPtr=rptr value=0 count=4096", "sdaaMemsetAsync": "devPtr=rptr value=0 count=4096 stream=0",
    "sdaaMemGetInfo": "freeMem=out totalMem=out", "sdaaMemGetPhysAddr": "phys=out devPtr=rptr",
    "sdaaGetDeviceCount": "count=out", "sdaaGetDeviceProperties": "prop=out device=0",
    "sdaaSetDevice": "device=0", "sdaaGetDevice": "device=out",
    "sdaaDeviceGetAttribute": "value=out attr=1 device=0", "sdaaDeviceSynchronize": "",
    "sdaaDeviceReset": "", "sdaaThreadSynchronize": "",
    "sdaaStreamCreate": "pStream=out", "sdaaStreamDestroy": "stream=new-rstream",
    "sdaaStreamSynchronize": "stream=rstream", "sdaaStreamQuery": "stream=rstream",
    "sdaaStreamWaitEvent": "stream=rstream event=revent flags=0",
    "sdaaEventCreate": "event=out", "sdaaEventCreateWithFlags": "event=out flags=0",
    "sdaaEventRecord": "event=revent stream=0", "sdaaEventQuery": "event=revent",
    "sdaaEventSynchronize": "event=revent", "sdaaEventDestroy": "event=new-revent",
    "sdaaEventElapsedTime": "ms=out start=revent end=revent2",
    "sdaaGetLastError": "", "sdaaPeekAtLastError": "", "sdaaGetErrorString": "error=11",
    "sdaaDriverGetVersion": "driverVersion=out", "sdaaRuntimeGetVersion": "runtimeVersion=out",
    # gdev
    "gopen": "minor=0", "gclose": "h=new-gh", "gmalloc": "h=gh size=4096", "gfree": "h=gh addr=new-gaddr",
    "gmalloc_dma": "h=gh size=4096", "gfree_dma": "h=gh buf=new-gdma", "gmap": "h=gh addr=gaddr size=4096",
    "gunmap": "h=gh buf=gmapped",
    "gmemcpy_to_device": "h=gh dst_addr=gaddr src_buf=host size=4096",
    "gmemcpy_to_device_async": "h=gh dst_addr=gaddr src_buf=host size=4096 id=out",
    "gmemcpy_user_to_device": "h=gh dst_addr=gaddr src_buf=host size=4096",
    "gmemcpy_user_to_device_async": "h=gh dst_addr=gaddr src_buf=host size=4096 id=out",
    "gmemcpy_from_device": "h=gh dst_buf=host src_addr=gaddr size=4096",
    "gmemcpy_from_device_async": "h=gh dst_buf=host src_addr=gaddr size=4096 id=out",
    "gmemcpy_user_from_device": "h=gh dst_buf=host src_addr=gaddr size=4096",
    "gmemcpy_user_from_device_async": "h=gh dst_buf=host src_addr=gaddr size=4096 id=out",
    "gmemcpy": "h=gh dst_addr=gaddr src_addr=gaddr2 size=4096",
    "gmemcpy_async": "h=gh dst_addr=gaddr src_addr=gaddr2 size=4096 id=out",
    "glaunch": "h=gh kernel=gkernel id=out", "gsync": "h=gh id=0 timeout=NULL", "gbarrier": "h=gh",
    "gquery": "h=gh type=1 result=out", "gtune": "h=gh type=1 value=2",
    "gshmget": "h=gh key=77 size=4096 flags=512", "gshmat": "h=gh id=gshm addr=0 flags=0",
    "gshmdt": "h=gh addr=gshmaddr", "gshmctl": "h=gh id=gshm cmd=2 buf=out",
    "gref": "hmaster=gh addr=gaddr size=4096 hslave=gh1", "gunref": "h=gh1 addr=gref",
    "gphysget": "h=gh p=gdma", "gvirtget": "h=gh p=gdma", "gdevice_count": "result=out",
}
BASELINE = {fn: dict(t.split("=", 1) for t in spec.split()) for fn, spec in _B.items()}


# ---- the world: objects the tokens name -------------------------------------------------
class World:
    def __init__(self, ffi: cffi.FFI, usdaa: Any, gdev: Any) -> None:
        self.ffi, self.u, self.g = ffi, usdaa, gdev
        self.keep: list[Any] = []                     # cffi objects that must outlive the call
        self.objects: dict[str, Any] = {}
        cubin = CUBIN.read_bytes()
        self.image = ffi.new("char[]", cubin)
        self.ptx = ffi.new("char[]", (CUBIN.with_suffix(".ptx")).read_bytes())
        self.host = ffi.new("char[]", BUF * 2)
        self.wrapper = ffi.new("void *[2]", [ffi.NULL, ffi.cast("void *", self.image)])
        self.objects["host"] = self.host
        self.objects["zeros"] = ffi.new("char[64]")

    # -- helpers that make sure setup calls succeed
    def ok(self, rc: Any, what: str) -> None:
        if rc not in (0, None):
            raise RuntimeError(f"setup call {what} returned {rc}")

    def build_driver(self) -> None:
        ffi, u = self.ffi, self.u
        self.ok(u.sdInit(0), "sdInit")
        p = ffi.new("SDcontext *")
        self.ok(u.sdCtxCreate(p, 0, 1), "sdCtxCreate(1)")
        self.objects["ctx1"] = p[0]
        self.ok(u.sdCtxPopCurrent(ffi.NULL), "sdCtxPopCurrent")
        self.ok(u.sdCtxCreate(p, 0, 0), "sdCtxCreate(0)")
        self.objects["ctx"] = p[0]
        self.objects["dptr"] = self.new_dptr()
        self.objects["dptr2"] = self.new_dptr()
        self.ok(u.sdCtxPushCurrent(self.objects["ctx1"]), "push ctx1")
        self.objects["dptr1"] = self.new_dptr()
        self.objects["stream1"] = self.new_stream()
        self.objects["event1"] = self.new_event()
        self.ok(u.sdCtxPopCurrent(ffi.NULL), "pop ctx1")
        self.objects["stream"] = self.new_stream()
        self.objects["event"] = self.new_event()
        self.objects["event2"] = self.new_event()
        self.ok(u.sdEventRecord(self.objects["event"], ffi.NULL), "record event")
        self.ok(u.sdEventRecord(self.objects["event2"], ffi.NULL), "record event2")
        self.objects["mod"] = self.new_mod()
        pf = ffi.new("SDfunction *")
        self.ok(u.sdModuleGetFunction(pf, self.objects["mod"], b"add_test"), "get function")
        self.objects["fn"] = pf[0]
        pp = ffi.new("void **")
        self.ok(u.sdMemAllocHost(pp, BUF), "sdMemAllocHost")
        self.objects["pinned"] = pp[0]
        d = self.objects["dptr"]
        cells = [ffi.new("unsigned long long *", d), ffi.new("unsigned long long *", d),
                 ffi.new("unsigned long long *", d), ffi.new("int *", 16)]
        self.keep.append(cells)
        self.objects["params"] = ffi.new("void *[4]", [ffi.cast("void *", c) for c in cells])

    def build_runtime(self) -> None:
        ffi, u = self.ffi, self.u
        self.objects["rptr"] = self.new_rptr()
        self.objects["rptr2"] = self.new_rptr()
        self.ok(u.sdaaSetDevice(1), "sdaaSetDevice(1)")
        self.objects["rptr1"] = self.new_rptr()
        self.ok(u.sdaaSetDevice(0), "sdaaSetDevice(0)")
        self.objects["rstream"] = self.new_rstream()
        self.objects["revent"] = self.new_revent()
        self.objects["revent2"] = self.new_revent()
        self.ok(u.sdaaEventRecord(self.objects["revent"], 0), "record revent")
        self.ok(u.sdaaEventRecord(self.objects["revent2"], 0), "record revent2")
        self.objects["fatbin"] = self.new_fatbin()
        getattr(u, "__sdaaRegisterFunction")(self.objects["fatbin"], ffi.new("char[]", b"add_test"))
        self.objects["fatcubin"] = self.wrapper
        garbage = ffi.new("char[]", b"not a code object")
        wrapper = ffi.new("void *[2]", [ffi.NULL, ffi.cast("void *", garbage)])
        self.keep.extend([garbage, wrapper])
        bad = getattr(u, "__sdaaRegisterFatBinary")(wrapper)
        getattr(u, "__sdaaRegisterFunction")(bad, ffi.new("char[]", b"badkernel"))

    def build_gdev(self) -> None:
        g = self.g
        self.objects["gh"] = self.new_gh()
        self.objects["gh1"] = self.new_gh(1)
        self.objects["gaddr"] = self.new_gaddr()
        self.objects["gaddr2"] = self.new_gaddr()
        self.objects["gaddr1"] = int(g.gmalloc(self.objects["gh1"], BUF))
        self.objects["gdma"] = self.new_gdma()
        self.objects["gmapped"] = g.gmap(self.objects["gh"], self.objects["gaddr"], BUF)
        shm = g.gshmget(self.objects["gh"], 77, BUF, 0o1000)
        self.objects["gshm"] = shm
        self.objects["gshmaddr"] = int(g.gshmat(self.objects["gh"], shm, 0, 0))
        self.objects["gref"] = int(g.gref(self.objects["gh"], self.objects["gaddr"], BUF, self.objects["gh1"]))
        code = int(g.gmalloc(self.objects["gh"], len(CUBIN.read_bytes())))
        self.ok(g.gmemcpy_to_device(self.objects["gh"], code, self.image, len(CUBIN.read_bytes())),
                "upload code")
        self.objects["gcode"] = code
        self.objects["gkernel"] = self.kernel()

    def kernel(self, **changes: int) -> Any:
        ffi = self.ffi
        params = ffi.new("uint64_t[4]", [self.objects["gaddr"], self.objects["gaddr"], self.objects["gaddr"], 16])
        self.keep.append(params)
        k = ffi.new("struct gdev_kernel *")
        k.code_addr, k.code_size, k.code_pc = self.objects["gcode"], len(CUBIN.read_bytes()), 0
        k.param_size, k.param_buf = 28, ffi.cast("uint32_t *", params)
        k.grid_x = k.grid_y = k.grid_z = 1
        k.block_x, k.block_y, k.block_z = 32, 1, 1
        for name, value in changes.items():
            setattr(k, name, ffi.cast("uint32_t *", value) if name == "param_buf" else value)
        return k

    # -- fresh objects (for destroy/free baselines and hostile "destroyed" tokens)
    def new_dptr(self) -> int:
        p = self.ffi.new("SDdeviceptr *")
        self.ok(self.u.sdMemAlloc(p, BUF), "sdMemAlloc")
        return int(p[0])

    def new_stream(self) -> Any:
        p = self.ffi.new("SDstream *")
        self.ok(self.u.sdStreamCreate(p, 0), "sdStreamCreate")
        return p[0]

    def new_event(self) -> Any:
        p = self.ffi.new("SDevent *")
        self.ok(self.u.sdEventCreate(p, 0), "sdEventCreate")
        return p[0]

    def new_mod(self) -> Any:
        p = self.ffi.new("SDmodule *")
        self.ok(self.u.sdModuleLoadData(p, self.image), "sdModuleLoadData")
        return p[0]

    def new_fn(self) -> Any:
        pf = self.ffi.new("SDfunction *")
        self.ok(self.u.sdModuleGetFunction(pf, self.new_mod(), b"add_test"), "get function")
        return pf[0]

    def new_rptr1(self) -> Any:
        self.ok(self.u.sdaaSetDevice(1), "sdaaSetDevice(1)")
        try:
            return self.new_rptr()
        finally:
            self.u.sdaaSetDevice(0)

    def new_ctx(self) -> Any:
        p = self.ffi.new("SDcontext *")
        self.ok(self.u.sdCtxCreate(p, 0, 0), "sdCtxCreate")
        self.ok(self.u.sdCtxPopCurrent(self.ffi.NULL), "sdCtxPopCurrent")
        return p[0]

    def new_pinned(self) -> Any:
        p = self.ffi.new("void **")
        self.ok(self.u.sdMemAllocHost(p, BUF), "sdMemAllocHost")
        return p[0]

    def new_rptr(self) -> Any:
        p = self.ffi.new("void **")
        self.ok(self.u.sdaaMalloc(p, BUF), "sdaaMalloc")
        return p[0]

    def new_rpinned(self) -> Any:
        p = self.ffi.new("void **")
        self.ok(self.u.sdaaMallocHost(p, BUF), "sdaaMallocHost")
        return p[0]

    def new_rstream(self) -> int:
        p = self.ffi.new("sdaaStream_t *")
        self.ok(self.u.sdaaStreamCreate(p), "sdaaStreamCreate")
        return int(p[0])

    def new_revent(self) -> int:
        p = self.ffi.new("sdaaEvent_t *")
        self.ok(self.u.sdaaEventCreate(p), "sdaaEventCreate")
        return int(p[0])

    def new_fatbin(self) -> Any:
        wrapper = self.ffi.new("void *[2]", [self.ffi.NULL, self.ffi.cast("void *", self.image)])
        self.keep.append(wrapper)
        handle = getattr(self.u, "__sdaaRegisterFatBinary")(wrapper)
        if handle == self.ffi.NULL:
            raise RuntimeError("__sdaaRegisterFatBinary failed")
        return handle

    def new_gh(self, minor: int = 0) -> Any:
        h = self.g.gopen(minor)
        if h == self.ffi.NULL:
            raise RuntimeError("gopen failed")
        return h

    def new_gaddr(self) -> int:
        addr = int(self.g.gmalloc(self.objects["gh"], BUF))
        if not addr:
            raise RuntimeError("gmalloc failed")
        return addr

    def new_gdma(self) -> Any:
        p = self.g.gmalloc_dma(self.objects["gh"], BUF)
        if p == self.ffi.NULL:
            raise RuntimeError("gmalloc_dma failed")
        return p

    # -- gone objects
    def destroyed(self, kind: str) -> Any:
        u, g = self.u, self.g
        makers: dict[str, Callable[[], Any]] = {
            "ctx": lambda: self._gone(self.new_ctx(), u.sdCtxDestroy),
            "stream": lambda: self._gone(self.new_stream(), u.sdStreamDestroy),
            "event": lambda: self._gone(self.new_event(), u.sdEventDestroy),
            "mod": lambda: self._gone(self.new_mod(), u.sdModuleUnload),
            "fn": self._unloaded_fn,
            "dptr": lambda: self._gone(self.new_dptr(), u.sdMemFree),
            "pinned": lambda: self._gone(self.new_pinned(), u.sdMemFreeHost),
            "rptr": lambda: self._gone(self.new_rptr(), u.sdaaFree),
            "rpinned": lambda: self._gone(self.new_rpinned(), u.sdaaFreeHost),
            "rstream": lambda: self._gone(self.new_rstream(), u.sdaaStreamDestroy),
            "revent": lambda: self._gone(self.new_revent(), u.sdaaEventDestroy),
            "fatbin": lambda: self._gone(self.new_fatbin(), getattr(u, "__sdaaUnregisterFatBinary")),
            "gh": lambda: self._gone(self.new_gh(), g.gclose),
            "gaddr": lambda: self._gone(self.new_gaddr(), lambda a: g.gfree(self.objects["gh"], a)),
            "gdma": lambda: self._gone(self.new_gdma(), lambda p: g.gfree_dma(self.objects["gh"], p)),
        }
        return makers[kind]()

    def _gone(self, obj: Any, destroy: Callable[[Any], Any]) -> Any:
        destroy(obj)
        return obj

    def _unloaded_fn(self) -> Any:
        mod = self.new_mod()
        pf = self.ffi.new("SDfunction *")
        self.ok(self.u.sdModuleGetFunction(pf, mod, b"add_test"), "get function")
        self.ok(self.u.sdModuleUnload(mod), "sdModuleUnload")
        return pf[0]


# ---- tokens -> C values ---------------------------------------------------------------------
_INT_LIMITS = {"int": (1 << 31) - 1, "unsigned int": (1 << 32) - 1, "size_t": (1 << 64) - 1,
               "uint64_t": (1 << 64) - 1, "uint32_t": (1 << 32) - 1, "SDdeviceptr": (1 << 64) - 1,
               "unsigned long long": (1 << 64) - 1, "SDdevice": (1 << 31) - 1,
               "unsigned char": 255, "unsigned short": 65535}
_INT_HANDLES = {"sdaaStream_t", "sdaaEvent_t"}


def _is_pointer(ctype: str) -> bool:
    return ctype.endswith("*") or ctype in ("SDcontext", "SDmodule", "SDfunction", "SDstream", "SDevent", "Ghandle")


def resolve(world: World, ctype: str, token: str) -> Any:
    ffi = world.ffi
    ctype = ctype.replace("const ", "")
    if token == "NULL":
        return ffi.NULL if _is_pointer(ctype) else 0
    if token == "out":
        if ctype == "char *":
            return ffi.new("char[256]")
        if ctype == "void *":
            return ffi.new("uint64_t[8]")
        return ffi.new(ctype)
    if token == "max":
        return _INT_LIMITS[ctype]
    if token == "never":
        if ctype in _INT_HANDLES:
            return NEVER_INT_HANDLE
        if _is_pointer(ctype):
            return ffi.cast(ctype, NEVER_HANDLE)
        return VRAM_BASE0 + 0x4000_0000      # inside card 0's address slice, never allocated
    if token.startswith("str:"):
        return ffi.new("char[]", token[4:].encode())
    if token == "cubin-path":
        return ffi.new("char[]", str(CUBIN).encode())
    if token == "image":
        return world.image
    if token == "ptx":
        return world.ptx
    if token == "host":
        return world.host if _is_pointer(ctype) else int(ffi.cast("uintptr_t", world.host))
    if token == "host-short":                 # a 16-byte host buffer in a full-size copy
        small = ffi.new("char[16]")
        world.keep.append(small)
        return small
    if token.startswith("new-"):
        return _as(world, ctype, getattr(world, "new_" + token[4:])())
    if token.startswith("destroyed-") or token.startswith("freed-"):
        return _as(world, ctype, world.destroyed(token.split("-", 1)[1]))
    if token.startswith("gkernel:"):          # gkernel:field=value,field=value
        changes = dict(kv.split("=") for kv in token[8:].split(","))
        return world.kernel(**{k: int(v, 0) for k, v in changes.items()})
    if token.startswith("extra:"):            # extra:<buffer size>
        return _extra(world, int(token[6:], 0))
    if token.startswith("as-"):               # as-<object>: an object passed as another handle type
        return _as(world, ctype, world.objects[token[3:]])
    m = re.fullmatch(r"([a-z][\w]*)([+-]\d+|[+-]0x[0-9a-fA-F]+)?", token)
    if m and m.group(1) in world.objects:
        obj = world.objects[m.group(1)]
        if m.group(2):
            return _as(world, ctype, _addr(world, obj) + int(m.group(2), 0))
        return _as(world, ctype, obj)
    try:
        value = int(token, 0)
    except ValueError:
        raise ValueError(f"unknown token {token!r} for {ctype}") from None
    return ffi.cast(ctype, value) if _is_pointer(ctype) else value


def _addr(world: World, obj: Any) -> int:
    return obj if isinstance(obj, int) else int(world.ffi.cast("uintptr_t", obj))


def _as(world: World, ctype: str, obj: Any) -> Any:
    """`obj` as a value of `ctype` (handles and pointers are cast, integers kept)."""
    if _is_pointer(ctype):
        return world.ffi.cast(ctype, _addr(world, obj))
    return _addr(world, obj)


def _extra(world: World, size: int) -> Any:
    ffi = world.ffi
    buf = ffi.new("char[64]")
    size_cell = ffi.new("size_t *", size)
    extra = ffi.new("void *[5]", [ffi.cast("void *", 1), buf, ffi.cast("void *", 2),
                                  ffi.cast("void *", size_cell), ffi.NULL])
    world.keep.extend([buf, size_cell, extra])
    return extra


# ---- running rows ------------------------------------------------------------------------------
def _result_code(world: World, proto: Proto, value: Any) -> str:
    """The call's outcome as the table writes codes."""
    ffi = world.ffi
    if proto.result == "void":
        return "void"
    if proto.result in ("SDresult", "sdaaError_t"):
        return _code_name(proto.result, int(value))
    if proto.result == "int":
        v = int(value)
        return f"-{errno.errorcode[-v]}" if v < 0 and -v in errno.errorcode else str(v)
    if proto.result == "uint64_t":
        return "0" if int(value) == 0 else "nonzero"
    return "NULL" if value == ffi.NULL else "non-NULL"


_CODE_NAMES: dict[str, dict[int, str]] = {}


def _code_name(kind: str, value: int) -> str:
    from gdev_shim.common.cheader import constants
    if kind not in _CODE_NAMES:
        header, prefix = ("sdaa.h", "SDAA_") if kind == "SDresult" else ("sdaa_runtime.h", "sdaa")
        _CODE_NAMES[kind] = {v: n for n, v in constants(header)._names.items()
                             if n.startswith(prefix) and (n.startswith("SDAA_ERROR_") or n == "SDAA_SUCCESS"
                                                          or n.startswith("sdaaError") or n == "sdaaSuccess")}
    return _CODE_NAMES[kind].get(value, str(value))


def call_row(world: World, protos: dict[str, Proto], row: Row) -> dict:
    proto = protos[row.function]
    tokens = dict(BASELINE[row.function])
    unknown = set(row.overrides) - {n for _, n in proto.params}
    if unknown:
        return {"row": row.__dict__, "error": f"unknown parameters {sorted(unknown)}"}
    tokens.update(row.overrides)
    lib = world.u if proto.library == "usdaa" else world.g
    args = [resolve(world, ctype, tokens[name]) for ctype, name in proto.params]
    runtime = row.function.startswith(("sdaa", "__sdaa"))
    if runtime:
        world.u.sdaaGetLastError()
    value = getattr(lib, row.function)(*args)
    got = _result_code(world, proto, value)
    result = {"row": row.__dict__, "got": got}
    if runtime and row.function not in ("sdaaGetLastError", "sdaaPeekAtLastError"):
        result["last"] = _code_name("sdaaError_t", int(world.u.sdaaGetLastError()))
    return result


def healthy(world: World, library: str, states: set[str]) -> str | None:
    """None when a copy round trip through the API still works, else why not."""
    ffi, u, g = world.ffi, world.u, world.g
    pattern = bytes(range(256)) * 16
    src = ffi.new("char[]", pattern)
    dst = ffi.new("char[]", len(pattern))
    if library == "driver":
        if "before-init" in states:
            return None
        u.sdCtxSetCurrent(world.objects["ctx"])
        d = world.objects["dptr"]
        rc = (u.sdMemcpyHtoD(d, src, BUF), u.sdMemcpyDtoH(dst, d, BUF))
    elif library == "runtime":
        u.sdaaSetDevice(0)
        p = ffi.new("void **")
        rc = (u.sdaaMalloc(p, BUF), u.sdaaMemcpy(p[0], src, BUF, 1), u.sdaaMemcpy(dst, p[0], BUF, 2),
              u.sdaaFree(p[0]))
        u.sdaaGetLastError()
    else:
        h = world.objects["gh"]
        a = world.objects["gaddr"]
        rc = (g.gmemcpy_to_device(h, a, src, BUF), g.gmemcpy_from_device(h, dst, a, BUF))
    if any(int(r) != 0 for r in rc) or bytes(ffi.buffer(dst, BUF)) != pattern[:BUF]:
        return f"round trip after the row failed: {rc}"
    return None


def library_of(function: str) -> str:
    if function.startswith(("sdaa", "__sdaa")):
        return "runtime"
    return "driver" if function.startswith("sd") else "gdev"


def open_libraries() -> tuple[cffi.FFI, Any, Any]:
    ffi = cffi.FFI()
    ffi.cdef("\n".join(cdef_source((INCLUDE_DIR / h).read_text())
                       for hs in HEADERS.values() for h in hs))
    return ffi, ffi.dlopen(str(LIB_DIR / "libusdaa.so")), ffi.dlopen(str(LIB_DIR / "libgdev.so"))


def expected(row: Row, proto: Proto) -> tuple[str, str | None]:
    """(result, last error) the row documents; last is None where it is not checked."""
    code, _, last = row.code.partition(", last=")
    if not row.function.startswith(("sdaa", "__sdaa")) or row.function in ("sdaaGetLastError",
                                                                            "sdaaPeekAtLastError"):
        return code.strip(), None
    if last:
        return code.strip(), last.strip()
    return code.strip(), code.strip() if proto.result == "sdaaError_t" else "sdaaSuccess"


def check(result: dict, row: Row, proto: Proto) -> str | None:
    """Why a row's outcome differs from the table, or None."""
    if "error" in result:
        return result["error"]
    want, want_last = expected(row, proto)
    if result["got"] != want:
        return f"returned {result['got']}, the table says {want}"
    if want_last is not None and result.get("last") != want_last:
        return f"recorded last error {result.get('last')}, the table says {want_last}"
    if "unusable" in result:
        return result["unusable"]
    return None


def _enter(world: World, states: set[str]) -> None:
    if "no-context" in states:
        world.u.sdCtxPopCurrent(world.ffi.NULL)
    if "configured" in states:
        world.ok(world.u.sdaaConfigureCall(1), "sdaaConfigureCall")


def _leave(world: World, states: set[str]) -> None:
    if "configured" in states:
        world.u.sdaaLaunch(b"__drop_pending_configuration__")   # pops what the row left
        world.u.sdaaGetLastError()


def run(rows: list[Row], out=sys.stdout) -> None:
    """Before-init rows first (sdInit not yet called), then the world, then after-reset rows."""
    ffi, u, g = open_libraries()
    protos = prototypes()
    world = World(ffi, u, g)
    ordered = ([r for r in rows if "before-init" in r.states]
               + [r for r in rows if not r.states & {"before-init", "after-reset"}]
               + [r for r in rows if "after-reset" in r.states])
    built = reset = False
    for row in ordered:
        if "before-init" not in row.states and not built:
            world.build_driver()
            world.build_runtime()
            world.build_gdev()
            built = True
        if "after-reset" in row.states and not reset:
            u.sdaaSetDevice(0)
            if u.sdaaDeviceReset() != 0:
                raise RuntimeError("sdaaDeviceReset failed")
            reset = True
        try:
            _enter(world, row.states)
            result = call_row(world, protos, row)
            _leave(world, row.states)
        except Exception as exc:          # noqa: BLE001 - a harness failure is reported per row
            result = {"row": row.__dict__, "error": f"{type(exc).__name__}: {exc}"}
        health = healthy(world, library_of(row.function), row.states)
        if health:
            result["unusable"] = health
        if row.function in protos:
            result["mismatch"] = check(result, row, protos[row.function])
        out.write(json.dumps(result) + "\n")
        out.flush()


if __name__ == "__main__":
    run(parse_table(Path(sys.argv[1]).read_text()))
