# examples/examples.mk - the demo programs, dpinfo, and `make demo`. Included by the
# Makefile after its own rules; uses its B, CC, IMPLIB, DLL and the $(B)/obj/%.o rule.
#
#   $(B)/engine.exe    a closed GL application with a plugin interface (examples/engine)
#   $(B)/dpplugin.dll  its DirectPort plugin: publishes the engine's framebuffer
#   $(B)/viewer.exe    a host GL application showing a port in its window
#   $(B)/dpinfo.exe    this machine's capabilities and the live ports
#   make demo          engine + plugin + viewer under Wine (tools/demo.sh): writes
#                      $(B)/demo/received.png and engine.png and prints a summary
#   make demo-capture  the same with no plugin: dpcapture.exe attaches to the running
#                      engine (capture/capture.mk builds it)
#
# PNG files come from Debian's stb headers (libstb-dev, installed by tools/setup-debian.sh).

STB_DIR ?= /usr/include/stb

ENGINE_EXE = $(B)/engine.exe
PLUGIN_DLL = $(B)/dpplugin.dll
VIEWER_EXE = $(B)/viewer.exe
DPINFO_EXE = $(B)/dpinfo.exe
EXAMPLE_TARGETS = $(ENGINE_EXE) $(PLUGIN_DLL) $(VIEWER_EXE) $(DPINFO_EXE)

# `all: $(ALL_TARGETS)` was read before this file, so its prerequisites are fixed:
# the line below adds ours; ALL_TARGETS is kept complete for anyone reading it later.
ALL_TARGETS += $(EXAMPLE_TARGETS)
all: $(EXAMPLE_TARGETS)

ENGINE_OBJS = $(B)/obj/examples/engine/engine.o $(B)/obj/examples/common/pngio.o
PLUGIN_OBJS = $(B)/obj/examples/plugin/plugin.o
VIEWER_OBJS = $(B)/obj/examples/viewer/viewer.o $(B)/obj/examples/common/pngio.o
DPINFO_OBJS = $(B)/obj/tools/dpinfo.o $(B)/obj/tools/dpcaps.o

# The engine sees only its own headers (it knows nothing of DirectPort); the plugin and
# the viewer see the public headers (-I.) too.
$(ENGINE_OBJS) $(PLUGIN_OBJS) $(VIEWER_OBJS) $(DPINFO_OBJS): XCFLAGS = -D__USE_MINGW_ANSI_STDIO=1 \
    -Iexamples/engine -Iexamples/common -isystem $(STB_DIR)
$(PLUGIN_OBJS) $(VIEWER_OBJS) $(DPINFO_OBJS): XCFLAGS += -I.

$(ENGINE_EXE): $(ENGINE_OBJS)
	$(CC) -o $@ $(ENGINE_OBJS) -lopengl32 -lgdi32 -luser32 -lshell32 -lwinmm
$(PLUGIN_DLL): $(PLUGIN_OBJS) $(IMPLIB) | $(DLL)
	$(CC) -shared -static-libgcc -o $@ $(PLUGIN_OBJS) $(IMPLIB)
$(VIEWER_EXE): $(VIEWER_OBJS) $(IMPLIB) | $(DLL)
	$(CC) -o $@ $(VIEWER_OBJS) $(IMPLIB) -lopengl32 -lgdi32 -luser32 -lshell32
$(DPINFO_EXE): $(DPINFO_OBJS) $(IMPLIB) | $(DLL)
	$(CC) -o $@ $(DPINFO_OBJS) $(IMPLIB) -ld3d12 -ld3d11 -ldxgi -ldxguid -luuid -lopengl32 -lgdi32 -luser32

-include $(wildcard $(B)/obj/examples/*/*.d $(B)/obj/tools/*.d)

# ---- demo -------------------------------------------------------------------------------
# As `make check`: on a fresh Debian machine, setup installs what is missing first.
# The Wine prefix is $(B)/wineprefix unless WINEPREFIX comes from the environment or
# the command line.
DEMO_WINEPREFIX = $(if $(filter file,$(origin WINEPREFIX)),$(CURDIR)/$(B)/wineprefix,$(WINEPREFIX))
.PHONY: demo demo-capture
demo:
	@bash tools/setup-debian.sh
	@$(MAKE) --no-print-directory $(EXAMPLE_TARGETS)
	@B="$(B)" WINEPREFIX="$(DEMO_WINEPREFIX)" bash tools/demo.sh
# The same chain with no plugin: dpcapture attaches to the running engine (capture/).
demo-capture:
	@bash tools/setup-debian.sh
	@$(MAKE) --no-print-directory $(EXAMPLE_TARGETS) $(HOOK_DLL) $(CAPTURE_EXE)
	@B="$(B)" WINEPREFIX="$(DEMO_WINEPREFIX)" bash tools/demo.sh capture
