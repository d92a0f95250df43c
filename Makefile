# DirectPort - cross-built with mingw-w64, tested under Wine.
#
#   make            build/directport.dll, import libraries, test and client programs
#   make check      install missing Debian packages (root), build, run the tests
#                   under Wine (+ Xvfb) and the native unit tests (which include a
#                   30 s fuzz run); T=substring runs only the cases whose name contains it
#   make fuzz       run the libFuzzer target for FUZZ_SECONDS (default 600)
#   make install    PREFIX=/somewhere [DESTDIR=...]
#   make clean
#
# Needs GNU make >= 4.3 (grouped targets).

include toolchain-mingw.mk

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SUFFIXES:

B := build

# The version comes from directport.h, the one place it is written.
version_part = $(shell sed -n 's/^.define DIRECTPORT_VERSION_$(1)[[:space:]]*\([0-9][0-9]*\).*/\1/p' directport.h)
VER_MAJOR := $(call version_part,MAJOR)
VER_MINOR := $(call version_part,MINOR)
VER_PATCH := $(call version_part,PATCH)
VERSION   := $(VER_MAJOR).$(VER_MINOR).$(VER_PATCH)
ifeq ($(VERSION),..)
$(error cannot read DIRECTPORT_VERSION_* from directport.h)
endif

# ---- core DLL ---------------------------------------------------------------------------
CORE_SRCS = directporterror.c directporthandle.c directportblock.c directportnames.c \
            directportsection.c directportcontrol.c directportguid.c \
            directportsecurity.c directporthost.c directportring.c directportregistry.c \
            directportengine.c directportd3d12.c directportd3d11.c adapters/gl/dpgl.c
CORE_OBJS = $(CORE_SRCS:%.c=$(B)/obj/%.o)
RC_OBJ    = $(B)/obj/directport.res.o

DLL     = $(B)/directport.dll
DEF     = $(B)/directport.def
IMPLIB  = $(B)/libdirectport.dll.a
MSVCLIB = $(B)/directport.lib

# ---- Wine test executable ---------------------------------------------------------------
# Every tests/*.c: the runner (dptest_main.c) and the test_*.c files, which register
# their cases themselves (see tests/dptest.h).
TEST_SRCS = $(sort $(wildcard tests/*.c)) tools/dpcaps.c
TEST_OBJS = $(TEST_SRCS:%.c=$(B)/obj/%.o)
TEST_EXE  = $(B)/dptest.exe

# ---- client checks: the public headers as a consumer compiles them, C and C++ ------------
# tests/client/NAME.c and NAME.cpp build $(B)/NAME_c.exe and $(B)/NAME_cpp.exe:
#   client            directport.h alone
#   client_gl         directport.h and adapters/gl/dpgl.h, no D3D header, no <windows.h>
#   client_d3d_after  directport.h, then <d3d12.h> and <d3d11.h>
#   client_d3d_before <d3d12.h> and <d3d11.h>, then directport.h
CLIENT_NAMES = client client_gl client_d3d_after client_d3d_before
CLIENT_C_EXES   = $(CLIENT_NAMES:%=$(B)/%_c.exe)
CLIENT_CPP_EXES = $(CLIENT_NAMES:%=$(B)/%_cpp.exe)
CLIENT_EXES     = $(CLIENT_C_EXES) $(CLIENT_CPP_EXES)
# A consumer's plain flags: no UNICODE, no _WIN32_WINNT, nothing of ours but -I.
CLIENT_CFLAGS   = -std=c11 $(WARNINGS) -Wstrict-prototypes -O2 -I.
CLIENT_CXXFLAGS = -std=c++17 $(WARNINGS) -O2 -I.

# ---- native unit tests (Linux gcc, ASan/UBSan) ------------------------------------------
# Built only when tests/native/ has sources. They use the same runner as dptest.exe.
NATIVE_TEST_SRCS = $(sort $(wildcard tests/native/*.c))
NATIVE_CORE_SRCS = directportblock.c directportnames.c capture/x64len.c
NATIVE_OBJS = $(addprefix $(B)/native/obj/,$(NATIVE_TEST_SRCS:.c=.o) \
                $(NATIVE_CORE_SRCS:.c=.o) tests/dptest_main.o)
NATIVE_UNIT = $(if $(NATIVE_TEST_SRCS),$(B)/native/unit)

# ---- fuzzing (clang libFuzzer + ASan/UBSan) ---------------------------------------------
# build/fuzz/fuzz_block fuzzes the control block validator and the name rules; its seed
# corpus comes from tests/fuzz/make_seed.c. Built by `make` when $(FUZZCC) links a
# libFuzzer program (Debian: clang + libclang-rt-14-dev, which tools/setup-debian.sh
# installs); `make check` runs it for 30 s as the native case fuzz_block_30s (skipped
# when it is not built), `make fuzz` for FUZZ_SECONDS. See tests/fuzz/README.md.
FUZZCC       ?= clang
FUZZ_SECONDS ?= 600
FUZZ_CFLAGS   = -std=c11 $(WARNINGS) -Wstrict-prototypes -g -O1 -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=all -I.
FUZZ_DIR      = $(B)/fuzz
FUZZ_BIN      = $(FUZZ_DIR)/fuzz_block
FUZZ_SEED     = $(FUZZ_DIR)/make_seed
FUZZ_CORPUS   = $(FUZZ_DIR)/corpus
FUZZ_STAMP    = $(FUZZ_DIR)/corpus.seeded
FUZZ_SRCS     = tests/fuzz/fuzz_block.c directportblock.c directportnames.c
FUZZ_ARGS     = -max_len=1024 -timeout=10 -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/
FUZZ_OK      := $(shell printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' | \
                  $(FUZZCC) -x c -fsanitize=fuzzer -o /dev/null - >/dev/null 2>&1 && echo yes)
FUZZ_TARGETS  = $(if $(FUZZ_OK),$(FUZZ_BIN) $(FUZZ_STAMP))

ALL_TARGETS = $(DLL) $(DEF) $(IMPLIB) $(MSVCLIB) $(TEST_EXE) $(CLIENT_EXES) \
              $(NATIVE_UNIT) $(FUZZ_TARGETS)

.PHONY: all check setup install clean fuzz
all: $(ALL_TARGETS)
	@:

# ---- rules ------------------------------------------------------------------------------
$(CORE_OBJS): XCFLAGS = -DDIRECTPORT_BUILD -I.
$(TEST_OBJS): XCFLAGS = $(TEST_CFLAGS) -I. -Itests -Itools

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(XCFLAGS) $(DEPFLAGS) -c -o $@ $<

# Version numbers for directport.rc, generated from directport.h.
$(B)/directport_version.h: directport.h Makefile
	@mkdir -p $(@D)
	printf '#define DP_VER_MAJOR %s\n#define DP_VER_MINOR %s\n#define DP_VER_PATCH %s\n#define DP_VER_STR "%s"\n' \
	    $(VER_MAJOR) $(VER_MINOR) $(VER_PATCH) $(VERSION).0 > $@

$(RC_OBJ): directport.rc $(B)/directport_version.h
	@mkdir -p $(@D)
	$(WINDRES) -I$(B) -O coff -o $@ directport.rc

# One link writes the DLL, its .def and the mingw import library.
$(DLL) $(DEF) $(IMPLIB) &: $(CORE_OBJS) $(RC_OBJ)
	$(CC) $(DLL_LDFLAGS) -o $(DLL) $(CORE_OBJS) $(RC_OBJ) $(DLL_LIBS)

# Import library for MSVC users.
$(MSVCLIB): $(DEF)
	$(DLLTOOL) -d $(DEF) -D directport.dll -l $@

# dptest.exe sits in build/ next to directport.dll, which is how it finds it.
$(TEST_EXE): $(TEST_OBJS) $(IMPLIB) $(DLL)
	$(CC) -o $@ $(TEST_OBJS) $(IMPLIB) $(TEST_LIBS)

$(B)/obj/tests/client/%_c.o: tests/client/%.c
	@mkdir -p $(@D)
	$(CC) $(CLIENT_CFLAGS) $(DEPFLAGS) -c -o $@ $<
$(B)/obj/tests/client/%_cpp.o: tests/client/%.cpp
	@mkdir -p $(@D)
	$(CXX) $(CLIENT_CXXFLAGS) $(DEPFLAGS) -c -o $@ $<
$(B)/client_d3d_%.exe: CLIENT_LIBS = -ld3d12 -ld3d11
$(CLIENT_C_EXES): $(B)/%_c.exe: $(B)/obj/tests/client/%_c.o $(IMPLIB)
	$(CC) -o $@ $< $(IMPLIB) $(CLIENT_LIBS)
$(CLIENT_CPP_EXES): $(B)/%_cpp.exe: $(B)/obj/tests/client/%_cpp.o $(IMPLIB)
	$(CXX) -static-libgcc -static-libstdc++ -o $@ $< $(IMPLIB) $(CLIENT_LIBS)

# test_fuzz.c runs the fuzzer and replays tests/fuzz/regressions/: absolute paths.
$(B)/native/obj/tests/native/test_fuzz.o: HOST_XCFLAGS = -DDP_FUZZ_DIR='"$(abspath $(FUZZ_DIR))"' \
    -DDP_FUZZ_REGRESSIONS='"$(CURDIR)/tests/fuzz/regressions"'
$(B)/native/obj/%.o: %.c
	@mkdir -p $(@D)
	$(HOSTCC) $(HOST_CFLAGS) $(HOST_XCFLAGS) -I. -Itests $(DEPFLAGS) -c -o $@ $<
$(B)/native/unit: $(NATIVE_OBJS)
	$(HOSTCC) $(HOST_CFLAGS) -pthread -o $@ $(NATIVE_OBJS)

$(FUZZ_BIN): $(FUZZ_SRCS) directportblock.h
	@mkdir -p $(@D)
	$(FUZZCC) $(FUZZ_CFLAGS) -o $@ $(FUZZ_SRCS)
$(FUZZ_SEED): tests/fuzz/make_seed.c directportblock.c directportblock.h
	@mkdir -p $(@D)
	$(HOSTCC) $(HOST_CFLAGS) -I. -o $@ tests/fuzz/make_seed.c directportblock.c
# The seeds go into the corpus libFuzzer grows (kept between runs, in build/ only).
$(FUZZ_STAMP): $(FUZZ_SEED)
	@mkdir -p $(FUZZ_CORPUS)
	$(FUZZ_SEED) $(FUZZ_CORPUS)
	@touch $@

# A long run; a crash stops it, names the input it saved and fails.
fuzz: $(FUZZ_BIN) $(FUZZ_STAMP)
	$(FUZZ_BIN) -max_total_time=$(FUZZ_SECONDS) $(FUZZ_ARGS) $(FUZZ_CORPUS)

-include $(wildcard $(B)/obj/*.d $(B)/obj/tests/*.d $(B)/obj/tests/client/*.d \
                    $(B)/native/obj/*.d $(B)/native/obj/tests/*.d $(B)/native/obj/tests/native/*.d)

# ---- check ------------------------------------------------------------------------------
# Order matters: on a fresh machine the compiler itself is installed by setup.
T ?=
check:
	@bash tools/setup-debian.sh
	@$(MAKE) --no-print-directory all
	@bash tests/run-wine.sh $(T)

setup:
	@bash tools/setup-debian.sh

include examples/examples.mk
include bench/bench.mk
include capture/capture.mk

# ---- install ----------------------------------------------------------------------------
PREFIX  ?= /usr/local
DESTDIR ?=
# dpcapture.exe finds dphook.dll and directport.dll beside itself: all three go to bin/.
install: $(DLL) $(DEF) $(IMPLIB) $(MSVCLIB) $(HOOK_DLL) $(CAPTURE_EXE)
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib
	install -m 644 directport.h $(DESTDIR)$(PREFIX)/include/
	if [ -f adapters/gl/dpgl.h ]; then install -m 644 adapters/gl/dpgl.h $(DESTDIR)$(PREFIX)/include/; fi
	install -m 755 $(DLL) $(HOOK_DLL) $(CAPTURE_EXE) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(IMPLIB) $(MSVCLIB) $(DEF) $(DESTDIR)$(PREFIX)/lib/

# ---- clean ------------------------------------------------------------------------------
# The private Wine prefix lives in build/: stop its wineserver before deleting it.
clean:
	-if [ -d $(B)/wineprefix ]; then WINEPREFIX="$(CURDIR)/$(B)/wineprefix" $(WINESERVER) -k 2>/dev/null; fi; true
	rm -rf $(B)
