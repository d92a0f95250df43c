# toolchain-mingw.mk - cross toolchain, flags and Wine/Xvfb runner settings.
# Included by Makefile. Every variable can be overridden from the command line
# or the environment (make CC=... WINE=...).

CROSS    ?= x86_64-w64-mingw32-
CC       := $(CROSS)gcc
CXX      := $(CROSS)g++
WINDRES  := $(CROSS)windres
DLLTOOL  := $(CROSS)dlltool

# Native (Linux) compiler for the plain-C unit tests.
HOSTCC   ?= gcc

# Every target, cross and native, builds with these warnings, all fatal.
WARNINGS := -Wall -Wextra -Werror -Wconversion -Wsign-conversion -Wshadow
# Windows 10 API level, wide-character Win32 API.
# EXTRA_CFLAGS / EXTRA_CXXFLAGS add to these (a CFLAGS from the environment is ignored).
CFLAGS   := -std=c11 $(WARNINGS) -Wstrict-prototypes -O2 -g \
            -D_WIN32_WINNT=0x0A00 -DWINVER=0x0A00 -DUNICODE -D_UNICODE $(EXTRA_CFLAGS)
CXXFLAGS := -std=c++17 $(WARNINGS) -O2 -g \
            -D_WIN32_WINNT=0x0A00 -DWINVER=0x0A00 -DUNICODE -D_UNICODE $(EXTRA_CXXFLAGS)
# Header dependency tracking for every object.
DEPFLAGS  = -MMD -MP

# The DLL exports exactly what the sources mark DP_API (dllexport); GNU ld then
# exports nothing else. The .def and the mingw import library fall out of the link.
DLL_LDFLAGS = -shared -static-libgcc \
              -Wl,--output-def,$(DEF) \
              -Wl,--out-implib,$(IMPLIB)
DLL_LIBS    = -ld3d12 -ld3d11 -ldxgi -ldxguid -luuid -ladvapi32 -lkernel32

# Test executable: mingw's own printf (C99 formats, %ls for wide strings, %zu, %llu).
TEST_CFLAGS = -D__USE_MINGW_ANSI_STDIO=1
TEST_LIBS   = -ld3d12 -ld3d11 -ldxgi -ldxguid -luuid -lopengl32 -lgdi32 -luser32 \
              -lpsapi -lshell32

# Native unit tests: plain C, sanitizers on, any finding is fatal.
HOST_CFLAGS = -std=c11 $(WARNINGS) -Wstrict-prototypes -g \
              -fsanitize=address,undefined -fno-sanitize-recover=all

# ---- Wine / Xvfb runner (read by tests/run-wine.sh through the environment) ----------
WINE             ?= wine
WINESERVER       ?= wineserver
WINEPREFIX       ?= $(CURDIR)/build/wineprefix
WINEARCH         ?= win64
WINEDEBUG        ?= -all
# No Mono / Gecko install prompts when the prefix is created.
WINEDLLOVERRIDES ?= mscoree,mshtml=
# Whole-run limit of the Wine part, in seconds.
CHECK_TIMEOUT    ?= 900
export WINE WINESERVER WINEPREFIX WINEARCH WINEDEBUG WINEDLLOVERRIDES CHECK_TIMEOUT
