/*
 * test_fuzz.c - the fuzz target's side of the native tests:
 *   fuzz_regressions_replay  every input saved in tests/fuzz/regressions/ (crashes the
 *                            fuzzer once found) goes through the fuzz target's checks
 *                            again, here under gcc's ASan/UBSan;
 *   fuzz_block_30s           runs build/fuzz/fuzz_block (clang libFuzzer) for 30 s on its
 *                            corpus; a crash fails the case and names the saved input.
 * The Makefile passes DP_FUZZ_DIR (build/fuzz) and DP_FUZZ_REGRESSIONS as absolute paths.
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dptest.h"

#ifndef DP_FUZZ_DIR
#define DP_FUZZ_DIR "build/fuzz"
#endif
#ifndef DP_FUZZ_REGRESSIONS
#define DP_FUZZ_REGRESSIONS "tests/fuzz/regressions"
#endif

/* The fuzz target itself, its invariants reported as failed checks instead of traps. */
static const char *g_replaying = "";
#define FUZZ_CHECK(cond, what) ok((cond), "%s: %s", g_replaying, (what))
#include "fuzz/fuzz_block.c"

extern char **environ;

/* Reads a whole file into a malloc'd buffer, NUL-terminated (the fuzz target copies
 * what it is given into a buffer of exactly its size). */
static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        if (buf)
            buf[n] = 0;
        *size = (size_t)n;
    }
    fclose(f);
    return buf;
}

DP_TEST(fuzz_regressions_replay)
{
    DIR *d = opendir(DP_FUZZ_REGRESSIONS);
    struct dirent *e;
    unsigned replayed = 0;
    if (!ok(d != NULL, "cannot open %s: %s", DP_FUZZ_REGRESSIONS, strerror(errno)))
        return;
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        unsigned char *data;
        size_t size = 0;
        if (e->d_name[0] == '.') /* ., .., .gitkeep */
            continue;
        snprintf(path, sizeof(path), "%s/%s", DP_FUZZ_REGRESSIONS, e->d_name);
        data = read_file(path, &size);
        if (!ok(data != NULL, "cannot read %s", path))
            continue;
        g_replaying = e->d_name;
        LLVMFuzzerTestOneInput(data, size);
        g_replaying = "";
        free(data);
        replayed++;
    }
    closedir(d);
    dptest_diag("replayed %u saved input(s) from %s", replayed, DP_FUZZ_REGRESSIONS);
}

/* The value after `key` on the last line of log that has it; "" if none. */
static void log_value(const char *log, const char *key, char *out, size_t cap)
{
    const char *p = log, *hit = NULL;
    size_t n = 0;
    while ((p = strstr(p, key)) != NULL) {
        hit = p + strlen(key);
        p = hit;
    }
    out[0] = 0;
    if (!hit)
        return;
    while (*hit == ' ')
        hit++;
    while (hit[n] && hit[n] != '\n' && n + 1 < cap)
        n++;
    memcpy(out, hit, n);
    out[n] = 0;
}

DP_TEST(fuzz_block_30s)
{
    const char *bin = DP_FUZZ_DIR "/fuzz_block", *corpus = DP_FUZZ_DIR "/corpus";
    const char *log_path = DP_FUZZ_DIR "/fuzz.log";
    char *argv[] = {(char *)bin,
                    "-max_total_time=30",
                    "-max_len=1024",
                    "-timeout=10",
                    "-print_final_stats=1",
                    "-artifact_prefix=" DP_FUZZ_DIR "/",
                    (char *)corpus,
                    NULL};
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status = 0, err;
    unsigned char *log;
    size_t log_size = 0;
    char runs[64], speed[64], crash[512];

    if (access(bin, X_OK) != 0)
        skip("%s is not built: no clang with libFuzzer (Debian: clang, libclang-rt-14-dev; "
             "tools/setup-debian.sh installs them as root)", bin);
    mkdir(corpus, 0777);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    err = posix_spawn(&pid, bin, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (!ok(err == 0, "posix_spawn %s: %s", bin, strerror(err)))
        return;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;

    log = read_file(log_path, &log_size);
    if (!ok(log != NULL, "no fuzzer log at %s", log_path))
        return;
    log_value((char *)log, "stat::number_of_executed_units:", runs, sizeof(runs));
    log_value((char *)log, "stat::average_exec_per_sec:", speed, sizeof(speed));
    log_value((char *)log, "Test unit written to", crash, sizeof(crash));
    dptest_diag("fuzz_block: %s runs, %s exec/s (log: %s)", runs[0] ? runs : "?", speed[0] ? speed : "?",
                log_path);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0 && !crash[0],
       "the fuzzer failed (%s %d): crashing input %s; see %s and tests/fuzz/README.md",
       WIFEXITED(status) ? "exit status" : "signal", WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
       crash[0] ? crash : "(none saved)", log_path);
    ok(runs[0] && strtoull(runs, NULL, 10) > 0, "the fuzzer ran no input");
    free(log);
}
