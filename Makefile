# gdev-shim: `make run` builds what it needs and runs the seed program on card 3;
# `make check` builds everything and runs the C tests and pytest.
SHELL     := /bin/bash
PYTHON    ?= python3
VENV      := .venv
PY        := $(VENV)/bin/python
BUILD     := build
LIB       := $(BUILD)/lib
BIN       := $(BUILD)/bin
KDIR      := $(BUILD)/kernels
CC        ?= gcc
CFLAGS    := -O2 -Wall -Wextra -Werror -Iinclude
LDRUNTIME := -L$(LIB) -lusdaa -Wl,-rpath,$(abspath $(LIB))
LDGDEV    := -L$(LIB) -lgdev -Wl,-rpath,$(abspath $(LIB))
# Keep the caller's environment from steering the embedded interpreter.
unexport PYTHONPATH PYTHONHOME

KERNEL_SRC := $(wildcard c_tests/kernels/*.cu)
CUBINS     := $(patsubst c_tests/kernels/%.cu,$(KDIR)/%.cubin,$(KERNEL_SRC))
PY_SRC     := $(shell find gdev_shim -name '*.py') build_ffi.py
HEADERS    := $(wildcard include/*.h)
C_PROGRAMS := $(BIN)/user_test $(BIN)/driver_basic $(BIN)/gdev_roundtrip $(BIN)/runtime_errors

.PHONY: all run check test-c test-py bench clean libs kernels

all: libs kernels $(C_PROGRAMS)

$(VENV)/.ready: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check cffi numpy pytest hypothesis
	touch $@

libs: $(LIB)/libusdaa.so
$(LIB)/libusdaa.so $(LIB)/libgdev.so &: $(VENV)/.ready build_ffi.py $(HEADERS) $(wildcard gdev_shim/capi/*.py)
	$(PY) build_ffi.py $(LIB)

# One nvcc invocation for every kernel (PTX cached by source hash), then the container tool.
kernels: $(CUBINS)
$(KDIR)/.ptx-stamp: $(KERNEL_SRC) | $(VENV)/.ready
	mkdir -p $(KDIR)
	$(PY) -m gdev_shim.tools.nvcc $(KERNEL_SRC) -o $(KDIR)
	touch $@
$(KDIR)/%.cubin: $(KDIR)/.ptx-stamp
	$(PY) -m gdev_shim.tools.mkimage $(KDIR)/$*.ptx -o $@

$(BIN)/user_test: c_tests/launch/launch.c $(LIB)/libusdaa.so
	mkdir -p $(BIN)
	$(CC) $(CFLAGS) $< -o $@ $(LDRUNTIME)
$(BIN)/driver_basic: c_tests/driver/driver_basic.c $(LIB)/libusdaa.so
	mkdir -p $(BIN)
	$(CC) $(CFLAGS) $< -o $@ $(LDRUNTIME)
$(BIN)/runtime_errors: c_tests/runtime/runtime_errors.c $(LIB)/libusdaa.so
	mkdir -p $(BIN)
	$(CC) $(CFLAGS) $< -o $@ $(LDRUNTIME)
$(BIN)/gdev_roundtrip: c_tests/gdev/gdev_roundtrip.c $(LIB)/libgdev.so
	mkdir -p $(BIN)
	$(CC) $(CFLAGS) $< -o $@ $(LDGDEV)

run: all
	cd $(KDIR) && ../bin/user_test -d3 -s0xf000000

test-c: all
	./c_tests/run_all.sh $(BIN) $(KDIR)

test-py: all
	$(PY) -m pytest tests

check: test-c test-py

bench: all
	$(PY) bench/run.py

clean:
	rm -rf $(BUILD)
