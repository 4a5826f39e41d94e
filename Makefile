# gdev-shim: `make run` builds what it needs and runs the seed program on card 3;
# `make check` builds everything and runs the linters, the C tests and pytest.
SHELL     := /bin/bash
PYTHON    ?= python3
VENV      := .venv
PY        := $(VENV)/bin/python
BUILD     := build
LIB       := $(BUILD)/lib
BIN       := $(BUILD)/bin
KDIR      := $(BUILD)/kernels
CC        ?= gcc
CFLAGS    := -O2 -Wall -Wextra -Werror -Iinclude -Ic_tests/common
LDRUNTIME := -L$(LIB) -lusdaa -Wl,-rpath,$(abspath $(LIB))
LDGDEV    := -L$(LIB) -lgdev -Wl,-rpath,$(abspath $(LIB))
# Keep the caller's environment from steering the embedded interpreter.
unexport PYTHONPATH PYTHONHOME

KERNEL_SRC := $(wildcard c_tests/kernels/*.cu)
CUBINS     := $(patsubst c_tests/kernels/%.cu,$(KDIR)/%.cubin,$(KERNEL_SRC))
HEADERS    := $(wildcard include/*.h)
# gdev_shim's out-of-line cffi modules of the headers it reads (common/contract.py)
HEADER_MODS := $(BUILD)/.header-modules
TESTUTIL   := c_tests/common/testutil.h
C_PROGRAMS := $(BIN)/user_test $(BIN)/driver_basic $(BIN)/gdev_roundtrip $(BIN)/gdev_ghandle \
              $(BIN)/runtime_errors
# Gdev's classic user tests (driver API; gdev_* use the raw Gdev API) and the
# concurrency programs (runtime API, pthreads): one binary per source file.
SUITE_PROGRAMS := madd mmul fmadd fmmul float loop idle memcpy memcpy_2step memcpy_pinned \
                  memcpy_async madd_host madd_pinned gdev_memcpy gdev_matrixadd
CONC_PROGRAMS  := threads streams ordering events stress
C_PROGRAMS += $(addprefix $(BIN)/gdev_suite/,$(SUITE_PROGRAMS)) $(addprefix $(BIN)/concurrency/,$(CONC_PROGRAMS))
C_PROGRAMS += $(BIN)/abi_fuzz
# Processes sharing the card daemon (fork and exec): memory, killed clients and daemons, users.
C_PROGRAMS += $(BIN)/cardd/procs
# CUDA programs built by nvcc against the toolkit (c_tests/cuda), run on libcudart.so.13:
# one nvcc -c per flag set, executables cached by content (gdev_shim/tools/cudaprog.py).
CUDA_SRC   := $(filter-out c_tests/cuda/noptx.cu,$(wildcard c_tests/cuda/*.cu))
CUDA_STAMP := $(BIN)/cuda/.built
CUDAPROG   := $(PY) -m gdev_shim.tools.cudaprog
# Driver-API programs (c_tests/cuda_driver), linked by nvcc with -lcuda against build/lib's
# libcuda.so, and the device code they load in the toolkit's formats: PTX and a fat binary
# (one nvcc call), a plain cubin and one built with -lineinfo, which carries its PTX.
DRV_DIR    := $(BIN)/cuda_driver
DRV_SRC    := $(filter-out c_tests/cuda_driver/kernels.cu,$(wildcard c_tests/cuda_driver/*.cu))
DRV_STAMP  := $(DRV_DIR)/.built
DRV_IMAGES := $(DRV_DIR)/kernels.fatbin
NVCC       ?= nvcc
# Random call sequences of the ABI fuzzer in `make check` (about 30 s); FUZZ_COUNT=10000 for the full run.
FUZZ_COUNT ?= 2000
FUZZ_SEED  ?= 1

.PHONY: all run check lint test-c test-py test-fuzz fuzz-cardd bench clean libs kernels install cuda-programs \
        driver-programs bytecode

all: libs kernels $(C_PROGRAMS) cuda-programs driver-programs bytecode

# The package's modules byte-compiled, as `pip install` leaves an installed package: a
# process that may not write them (PYTHONDONTWRITEBYTECODE, a read-only tree) compiled every
# module it imported, each time (measured: about 75 ms of the compiler's imports, which a first
# module load waits for).  Only stale ones are compiled again; Python ignores a stale one.
bytecode: | $(VENV)/.ready
	$(PY) -m compileall -q gdev_shim

# The package goes in editable (`.venv/bin/gdev-smi`, `import gdev_shim` from anywhere);
# its build runs build_ffi.py's header modules through setup.py.
PIP := $(PY) -m pip install --quiet --disable-pip-version-check
$(VENV)/.ready: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(PIP) cffi numpy pytest hypothesis llvmlite zstandard ruff mypy "setuptools>=70.1"
	$(PIP) --no-deps --no-build-isolation -e .
	touch $@

# Rebuilt whenever a header changes (an editable install does not notice).
$(HEADER_MODS): $(HEADERS) build_ffi.py gdev_shim/common/contract.py gdev_shim/common/futex_c.h | $(VENV)/.ready
	$(PY) build_ffi.py --header-modules --tmpdir $(BUILD)/ffi/headers
	touch $@

libs: $(LIB)/libusdaa.so
$(LIB)/libusdaa.so $(LIB)/libgdev.so $(LIB)/libcudart.so.13 $(LIB)/libcuda.so.1 &: $(VENV)/.ready $(HEADER_MODS) build_ffi.py $(HEADERS) \
                                         $(wildcard gdev_shim/capi/*.py)
	$(PY) build_ffi.py $(LIB)

# One nvcc invocation for every kernel (PTX cached by source hash), then the container tool.
kernels: $(CUBINS)
$(KDIR)/.ptx-stamp: $(KERNEL_SRC) | $(VENV)/.ready $(HEADER_MODS)
	mkdir -p $(KDIR)
	$(PY) -m gdev_shim.tools.nvcc $(KERNEL_SRC) -o $(KDIR)
	touch $@
$(KDIR)/%.cubin: $(KDIR)/.ptx-stamp
	$(PY) -m gdev_shim.tools.mkimage $(KDIR)/$*.ptx -o $@

$(BIN)/user_test: c_tests/launch/launch.c $(LIB)/libusdaa.so
	mkdir -p $(BIN)
	$(CC) $(CFLAGS) $< -o $@ $(LDRUNTIME)
$(BIN)/driver_basic: c_tests/driver/driver_basic.c $(TESTUTIL) $(LIB)/libusdaa.so
	mkdir -p $(BIN)
	$(CC) $(CFLAGS) $< -o $@ $(LDRUNTIME)
$(BIN)/runtime_errors: c_tests/runtime/runtime_errors.c $(TESTUTIL) $(LIB)/libusdaa.so
	mkdir -p $(BIN)
	$(CC) $(CFLAGS) $< -o $@ $(LDRUNTIME)
$(BIN)/gdev_roundtrip $(BIN)/gdev_ghandle: $(BIN)/%: c_tests/gdev/%.c $(TESTUTIL) $(LIB)/libgdev.so
	mkdir -p $(BIN)
	$(CC) $(CFLAGS) $< -o $@ $(LDGDEV)
# gdev_% (the shorter stem) wins over % for the raw Gdev programs.
$(BIN)/gdev_suite/gdev_%: c_tests/gdev_suite/gdev_%.c $(TESTUTIL) $(LIB)/libgdev.so
	mkdir -p $(@D)
	$(CC) $(CFLAGS) $< -o $@ $(LDGDEV)
$(BIN)/gdev_suite/%: c_tests/gdev_suite/%.c $(wildcard c_tests/gdev_suite/*.h) $(TESTUTIL) $(LIB)/libusdaa.so
	mkdir -p $(@D)
	$(CC) $(CFLAGS) $< -o $@ $(LDRUNTIME)
$(BIN)/abi_fuzz: c_tests/fuzz/abi_fuzz.c $(TESTUTIL) $(LIB)/libusdaa.so $(LIB)/libgdev.so
	mkdir -p $(BIN)
	$(CC) $(CFLAGS) $< -o $@ $(LDRUNTIME) -lgdev
$(BIN)/cardd/procs: c_tests/cardd/procs.c $(TESTUTIL) $(LIB)/libusdaa.so $(LIB)/libgdev.so
	mkdir -p $(@D)
	$(CC) $(CFLAGS) $< -o $@ $(LDRUNTIME) -lgdev
$(BIN)/concurrency/%: c_tests/concurrency/%.c c_tests/concurrency/conc.h $(TESTUTIL) $(LIB)/libusdaa.so
	mkdir -p $(@D)
	$(CC) $(CFLAGS) -pthread $< -o $@ $(LDRUNTIME)

cuda-programs: $(CUDA_STAMP)
$(CUDA_STAMP): $(CUDA_SRC) c_tests/cuda/noptx.cu c_tests/cuda/check.h c_tests/common/cuda_expect.h gdev_shim/tools/cudaprog.py | $(VENV)/.ready
	$(CUDAPROG) $(CUDA_SRC) -o $(@D)
	$(CUDAPROG) c_tests/cuda/vector_add.cu c_tests/cuda/symbols.cu -o $(@D) --suffix _compute80 \
	    --flags="-arch=compute_80"
	$(CUDAPROG) c_tests/cuda/vector_add.cu c_tests/cuda/warp.cu -o $(@D) --suffix _gencode \
	    --flags="-gencode arch=compute_75,code=sm_75 -gencode arch=compute_80,code=[compute_80,sm_80] -gencode arch=compute_90,code=compute_90"
	$(CUDAPROG) c_tests/cuda/streams_events.cu c_tests/cuda/symbols.cu c_tests/cuda/config.cu \
	    c_tests/cuda/graphs.cu c_tests/cuda/memory3d.cu -o $(@D) \
	    --suffix _ptds --flags="--default-stream per-thread"
	$(CUDAPROG) c_tests/cuda/noptx.cu -o $(@D) --flags="-gencode arch=compute_80,code=sm_80"
	touch $@

driver-programs: $(DRV_STAMP) $(DRV_IMAGES)
$(DRV_STAMP): $(DRV_SRC) c_tests/cuda_driver/check.h c_tests/common/cuda_expect.h gdev_shim/tools/cudaprog.py $(LIB)/libcuda.so.1 | $(VENV)/.ready
	$(CUDAPROG) $(DRV_SRC) -o $(@D) --flags="-L$(abspath $(LIB)) -lcuda"
	$(CUDAPROG) c_tests/cuda_driver/basics.cu c_tests/cuda_driver/modules.cu c_tests/cuda_driver/unified.cu \
	    c_tests/cuda_driver/graphs.cu -o $(@D) --suffix _ptds \
	    --flags="--default-stream per-thread -L$(abspath $(LIB)) -lcuda"
	touch $@
$(DRV_IMAGES): c_tests/cuda_driver/kernels.cu
	mkdir -p $(@D)/keep
	$(NVCC) -fatbin -gencode arch=compute_75,code=[sm_75,compute_75] --keep --keep-dir $(@D)/keep $< -o $@
	cp $(@D)/keep/kernels.ptx $(@D)/kernels.ptx
	cp $(@D)/keep/kernels.sm_75.cubin $(@D)/kernels.cubin
	$(NVCC) -cubin -arch=sm_75 -lineinfo $< -o $(@D)/kernels_lineinfo.cubin
	rm -rf $(@D)/keep

run: all
	cd $(KDIR) && ../bin/user_test -d3 -s0xf000000

test-c: all
	./c_tests/run_all.sh $(BIN) $(KDIR)

test-py: all
	$(PY) -m pytest tests

# The card daemon's protocol fuzzer (tests/cardd_fuzz.py); make check runs it briefly.
FUZZ_CARDD_S ?= 300
fuzz-cardd: $(VENV)/.ready $(HEADER_MODS)
	$(PY) tests/cardd_fuzz.py --seconds $(FUZZ_CARDD_S)

test-fuzz: all
	GDEV_LOG=error $(BIN)/abi_fuzz -n $(FUZZ_COUNT) -s $(FUZZ_SEED) -b 250 -t 120 $(KDIR)/add_test.cubin 2>/dev/null

# ruff and mypy, configured in pyproject.toml
lint: $(VENV)/.ready
	$(PY) -m ruff check --quiet .
	$(PY) -m mypy

check: lint test-c test-fuzz test-py

bench: all
	$(PY) bench/run.py

clean:
	rm -rf $(BUILD)
	rm -f gdev_shim/_aidev_drm*.so gdev_shim/_futex*.so gdev_shim/_sdaa_h.py gdev_shim/_sdaa_runtime_h.py gdev_shim/_gdev_cudart_h.py gdev_shim/_gdev_cuda_h.py

# ---- make install PREFIX=/opt/gdev-shim ------------------------------------------------
# Headers go to $(PREFIX)/include, the libraries (rebuilt for the prefix) to $(PREFIX)/lib,
# the gdev_shim package (with the headers it reads, in gdev_shim/include, and its header
# modules) to $(PREFIX)/lib/gdev-shim, pkg-config's gdev-shim.pc to $(PREFIX)/lib/pkgconfig,
# gdev-smi and gdev-mkimage to $(PREFIX)/bin.  The embedded interpreter finds the package
# there and cffi/numpy in PYDEPS (default: this tree's .venv; name another environment's
# site-packages to install independently of it) run by PYRUN.  DESTDIR stages the files
# elsewhere.
PREFIX   ?= /usr/local
DESTDIR  ?=
SHIMDIR  := $(PREFIX)/lib/gdev-shim
PYDEPS   ?= $(shell $(PY) -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null)
PYRUN    ?= $(abspath $(PY))
VERSION  := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
TOOLS    := gdev-smi:gdev_shim.smi gdev-mkimage:gdev_shim.tools.mkimage

install: $(VENV)/.ready $(HEADER_MODS)
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 $(HEADERS) $(DESTDIR)$(PREFIX)/include/
	rm -rf $(DESTDIR)$(SHIMDIR)/gdev_shim
	find gdev_shim -name '*.py' -exec install -D -m 644 {} $(DESTDIR)$(SHIMDIR)/{} \;
	install -m 755 gdev_shim/_aidev_drm*.so gdev_shim/_futex*.so $(DESTDIR)$(SHIMDIR)/gdev_shim/
	install -D -m 644 -t $(DESTDIR)$(SHIMDIR)/gdev_shim/include $(HEADERS)
	$(PY) -m compileall -q -d $(SHIMDIR)/gdev_shim $(DESTDIR)$(SHIMDIR)/gdev_shim
	$(PY) build_ffi.py $(DESTDIR)$(PREFIX)/lib --tmpdir $(BUILD)/install-ffi \
	    --path $(SHIMDIR) $(foreach p,$(PYDEPS),--path $(p))
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' gdev-shim.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/gdev-shim.pc
	for tool in $(TOOLS); do \
	    printf '#!/bin/sh\nPYTHONPATH="%s$${PYTHONPATH:+:$$PYTHONPATH}" exec "%s" -P -m %s "$$@"\n' \
	        "$(SHIMDIR)" "$(PYRUN)" "$${tool#*:}" > $(DESTDIR)$(PREFIX)/bin/$${tool%%:*}; \
	    chmod 755 $(DESTDIR)$(PREFIX)/bin/$${tool%%:*}; \
	done
