# bench/bench.mk - `make bench`: DirectPort's benchmark (docs/benchmarks.md).
# Included by the Makefile. Everything goes to $(B): $(B)/dpbench.exe (beside
# directport.dll, which is how it finds it), $(B)/bench/results.json and results.md,
# the run's private Wine prefix $(B)/wineprefix.
#
#   make bench                       every scenario (about 3 minutes on 2 cores)
#   make bench BENCH_ARGS=--quick    a smoke run: one small size, 60 frames
#   make bench BENCH_ARGS="--only dpgl,floors --sizes 1920x1080"

BENCH_SRCS = $(sort $(wildcard bench/*.c))
BENCH_OBJS = $(BENCH_SRCS:%.c=$(B)/obj/%.o)
BENCH_EXE  = $(B)/dpbench.exe
BENCH_LIBS = -ld3d12 -ldxgi -ldxguid -luuid -lopengl32 -lgdi32 -luser32
BENCH_ARGS ?=

$(BENCH_OBJS): XCFLAGS = $(TEST_CFLAGS) -I. -Ibench

$(BENCH_EXE): $(BENCH_OBJS) $(IMPLIB) $(DLL)
	$(CC) -o $@ $(BENCH_OBJS) $(IMPLIB) $(BENCH_LIBS)

# Built with everything else, so it never rots.
all: $(BENCH_EXE)

.PHONY: bench
bench:
	@bash tools/setup-debian.sh
	@$(MAKE) --no-print-directory $(BENCH_EXE)
	@B='$(B)' bash bench/run-bench.sh $(BENCH_ARGS)

-include $(wildcard $(B)/obj/bench/*.d)
