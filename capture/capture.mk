# capture/capture.mk - dpcapture: publish the frames of a GL application that has no
# plugin interface (docs/capture.md). Included by the Makefile.
#
#   $(B)/dphook.dll      loaded into the target: detours its buffer swaps, publishes the
#                        back buffer through the GL adapter; imports system DLLs only
#                        (directport.dll is loaded from its own directory at run time)
#   $(B)/dpcapture.exe   attaches dphook.dll to a running or a new process, detaches it
#   make demo-capture    engine.exe with no plugin, dpcapture attached, viewer.exe
#                        receiving (tools/demo.sh capture)

HOOK_DLL    = $(B)/dphook.dll
CAPTURE_EXE = $(B)/dpcapture.exe
HOOK_OBJS    = $(B)/obj/capture/dphook.o $(B)/obj/capture/detour.o $(B)/obj/capture/x64len.o
CAPTURE_OBJS = $(B)/obj/capture/dpcapture.o

$(HOOK_OBJS) $(CAPTURE_OBJS): XCFLAGS = -I. -Icapture
$(CAPTURE_OBJS): XCFLAGS += -D__USE_MINGW_ANSI_STDIO=1

$(HOOK_DLL): $(HOOK_OBJS)
	$(CC) -shared -static-libgcc -o $@ $(HOOK_OBJS) -luser32 -lkernel32
$(CAPTURE_EXE): $(CAPTURE_OBJS) $(IMPLIB) | $(DLL)
	$(CC) -municode -o $@ $(CAPTURE_OBJS) $(IMPLIB)

# The capture tests' second target: a GL application that loads opengl32.dll at run
# time, in a core-profile context (tests/targets/gltarget.c); imports no GL.
GLTARGET_EXE  = $(B)/gltarget.exe
GLTARGET_OBJS = $(B)/obj/tests/targets/gltarget.o
$(GLTARGET_OBJS): XCFLAGS = -D__USE_MINGW_ANSI_STDIO=1
$(GLTARGET_EXE): $(GLTARGET_OBJS)
	$(CC) -municode -o $@ $(GLTARGET_OBJS) -lgdi32 -luser32

ALL_TARGETS += $(HOOK_DLL) $(CAPTURE_EXE) $(GLTARGET_EXE)
all: $(HOOK_DLL) $(CAPTURE_EXE) $(GLTARGET_EXE)

-include $(wildcard $(B)/obj/capture/*.d $(B)/obj/tests/targets/*.d)
