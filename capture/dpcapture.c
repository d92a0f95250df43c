/*
 * dpcapture.c - dpcapture.exe: attaches dphook.dll to a GL application, so that every
 * frame it presents appears in a DirectPort port (docs/capture.md).
 *
 *   dpcapture --pid N [--name PORT] [--report FILE]
 *       attaches to the running process N (same user, same bitness) and returns once
 *       the hook runs there
 *   dpcapture --exe NAME.exe [--name PORT] [--report FILE]
 *       the same for the one running process of that executable name
 *   dpcapture --launch "command line" [--name PORT] [--report FILE]
 *       starts the command suspended, attaches before its first instruction of its own
 *       runs (an APC to its first thread, after its static imports are loaded), resumes
 *       it and returns
 *   dpcapture --stop --pid N | --exe NAME.exe [--report FILE]
 *       detaches: the hook closes the port, unhooks and unloads; prints its figures
 *
 * PORT defaults to capture.N. --report writes key=value lines (pid, port, state, and
 * after --stop the figures) for scripts. Prints what it did, or why not, and exits with
 * 0 on success, else:
 *   1 another failure (the message says which)   5 other bitness
 *   2 bad arguments                               6 not a GL application
 *   3 no such process                             7 already attached
 *   4 access denied                               8 not attached (--stop)
 *   9 the port's name is in use by a live producer
 *
 * dphook.dll and directport.dll are looked for next to dpcapture.exe.
 */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "capture.h"

enum {
    EXIT_FAIL = 1,
    EXIT_USAGE = 2,
    EXIT_NO_PROCESS = 3,
    EXIT_ACCESS = 4,
    EXIT_BITNESS = 5,
    EXIT_NOT_GL = 6,
    EXIT_ATTACHED = 7,
    EXIT_NOT_ATTACHED = 8,
    EXIT_NAME_IN_USE = 9
};

#define ATTACH_TIMEOUT_MS 15000
#define STOP_TIMEOUT_MS 10000

static const wchar_t *g_report;

static int usage(void)
{
    fprintf(stderr, "usage: dpcapture --pid N | --exe NAME.exe [--name PORT] [--report FILE]\n"
                    "       dpcapture --launch \"command line\" [--name PORT] [--report FILE]\n"
                    "       dpcapture --stop --pid N | --exe NAME.exe [--report FILE]\n");
    return EXIT_USAGE;
}

static int failure(int code, const wchar_t *fmt, ...)
{
    va_list ap;
    fputs("dpcapture: ", stderr);
    va_start(ap, fmt);
    vfwprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n", stderr);
    return code;
}

static void object_name(wchar_t *out, size_t cap, DWORD pid, const wchar_t *suffix)
{
    _snwprintf(out, cap - 1, L"%ls%lu%ls", DPCAP_PREFIX, (unsigned long)pid, suffix);
    out[cap - 1] = 0;
}

/* A file next to dpcapture.exe. */
static bool beside_me(const wchar_t *file, wchar_t *out, size_t cap)
{
    DWORD n = GetModuleFileNameW(NULL, out, (DWORD)cap);
    wchar_t *slash = n && n < cap ? wcsrchr(out, L'\\') : NULL;
    if (!slash || (size_t)(slash + 1 - out) + wcslen(file) >= cap)
        return false;
    wcscpy(slash + 1, file);
    return true;
}

static bool valid_name(const wchar_t *s)
{
    size_t n = wcslen(s);
    if (n < 1 || n > DP_MAX_NAME)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!iswalnum(s[i]) || s[i] > 127)
            if (s[i] != L'_' && s[i] != L'.' && s[i] != L'-')
                return false;
    return true;
}

/* The live producer of a port of that name, 0 if none. */
static uint32_t name_in_use(const wchar_t *name)
{
    DP_PORT_INFO info[64];
    uint32_t n = dp_list_ports(info, 64);
    for (uint32_t i = 0; i < n && i < 64; i++)
        if (!wcscmp(info[i].name, name))
            return info[i].producer_pid ? info[i].producer_pid : 1;
    return 0;
}

static void report(DWORD pid, const wchar_t *port, const char *state, const dpcap_block *b)
{
    if (!g_report)
        return;
    FILE *f = _wfopen(g_report, L"w");
    if (!f) {
        failure(0, L"cannot write %ls", g_report);
        return;
    }
    fprintf(f, "pid=%lu\nport=%ls\nstate=%s\n", (unsigned long)pid, port, state);
    if (b)
        fprintf(f,
                "mode=%s\nswaps=%llu\npublished=%llu\ndropped=%llu\nskipped=%llu\nerrors=%llu\nwidth=%u\nheight=%u\n"
                "cost_ms_p50=%.4f\ncost_ms_p99=%.4f\ncost_ms_max=%.4f\nmessage=%ls\n",
                b->mode == 1 ? "INTEROP" : b->mode == 2 ? "COPY" : "none", (unsigned long long)b->swaps,
                (unsigned long long)b->published, (unsigned long long)b->dropped,
                (unsigned long long)b->skipped, (unsigned long long)b->errors, b->width, b->height, b->cost_ms_p50,
                b->cost_ms_p99, b->cost_ms_max, b->message);
    fclose(f);
}

/* A copy of dphook's block, its strings bounded: the target wrote it. */
static void read_block(const dpcap_block *shared, dpcap_block *out)
{
    memcpy(out, shared, sizeof *out);
    out->message[DPCAP_MESSAGE - 1] = 0;
    out->port[DP_MAX_NAME] = 0;
}

static const wchar_t *exe_name(DWORD pid, wchar_t *buf, DWORD cap)
{
    HANDLE p = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    DWORD n = cap;
    buf[0] = 0;
    if (p && QueryFullProcessImageNameW(p, 0, buf, &n)) {
        wchar_t *slash = wcsrchr(buf, L'\\');
        if (slash)
            memmove(buf, slash + 1, (wcslen(slash + 1) + 1) * sizeof *buf);
    }
    if (p)
        CloseHandle(p);
    return buf[0] ? buf : L"?";
}

static int open_failure(DWORD pid)
{
    DWORD err = GetLastError();
    if (err == ERROR_INVALID_PARAMETER)
        return failure(EXIT_NO_PROCESS, L"no process with id %lu", (unsigned long)pid);
    if (err == ERROR_ACCESS_DENIED)
        return failure(EXIT_ACCESS,
                       L"access denied to process %lu: attaching needs the rights to open it (same user, or "
                       L"elevated for an elevated process)",
                       (unsigned long)pid);
    return failure(EXIT_FAIL, L"cannot open process %lu (error %lu)", (unsigned long)pid, err);
}

/* Attaches to process (pid); thread is its suspended first thread for --launch, NULL
 * for a running one. */
static int attach(HANDLE process, DWORD pid, HANDLE thread, const wchar_t *port)
{
    wchar_t hook[MAX_PATH], dll[MAX_PATH], name[128], exe[MAX_PATH];
    BOOL wow = FALSE;
    int rc = EXIT_FAIL;

    if (!beside_me(L"dphook.dll", hook, MAX_PATH) || GetFileAttributesW(hook) == INVALID_FILE_ATTRIBUTES ||
        !beside_me(L"directport.dll", dll, MAX_PATH) || GetFileAttributesW(dll) == INVALID_FILE_ATTRIBUTES)
        return failure(EXIT_FAIL, L"dphook.dll and directport.dll must be next to dpcapture.exe");
    if (IsWow64Process(process, &wow) && wow)
        return failure(EXIT_BITNESS, L"process %lu is a 32-bit process; dpcapture and dphook.dll are 64-bit",
                       (unsigned long)pid);
    object_name(name, 128, pid, L".attached");
    HANDLE held = OpenMutexW(SYNCHRONIZE, FALSE, name);
    if (held) {
        CloseHandle(held);
        return failure(EXIT_ATTACHED, L"process %lu is already attached (dpcapture --stop --pid %lu detaches)",
                       (unsigned long)pid, (unsigned long)pid);
    }
    uint32_t user = name_in_use(port);
    if (user)
        return failure(EXIT_NAME_IN_USE, L"port \"%ls\" is in use by process %lu: choose another with --name", port,
                       (unsigned long)user);
    if (!thread) {
        int gl = dpcap_has_module(pid, L"opengl32.dll");
        if (gl == 0)
            return failure(EXIT_NOT_GL, L"process %lu (%ls) is not a GL application: opengl32.dll is not loaded",
                           (unsigned long)pid, exe_name(pid, exe, MAX_PATH));
        if (gl < 0)
            return failure(EXIT_FAIL, L"cannot list the modules of process %lu (error %lu)", (unsigned long)pid,
                           GetLastError());
        if (dpcap_has_module(pid, L"dphook.dll") == 1)
            return failure(EXIT_ATTACHED,
                           L"dphook.dll is still loaded in process %lu from an attachment that could not unload",
                           (unsigned long)pid);
    }

    /* The control block, then the ready event dphook sets. */
    object_name(name, 128, pid, L"");
    HANDLE section = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, sizeof(dpcap_block), name);
    if (!section)
        return failure(EXIT_FAIL, L"cannot create %ls (error %lu)", name, GetLastError());
    if (GetLastError() == ERROR_ALREADY_EXISTS) {
        CloseHandle(section);
        return failure(EXIT_ATTACHED, L"another dpcapture is attaching to process %lu", (unsigned long)pid);
    }
    dpcap_block *b = MapViewOfFile(section, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, sizeof *b);
    object_name(name, 128, pid, L".ready");
    HANDLE ready = CreateEventW(NULL, TRUE, FALSE, name);
    void *remote = NULL;
    HANDLE loader = NULL;
    bool load_ran = false; /* the target is done with the path's memory */
    if (!b || !ready) {
        rc = failure(EXIT_FAIL, L"cannot create the control block (error %lu)", GetLastError());
        goto out;
    }
    memset(b, 0, sizeof *b);
    b->magic = DPCAP_MAGIC;
    b->version = DPCAP_VERSION;
    b->size = sizeof *b;
    b->flags = thread ? DPCAP_FLAG_LAUNCHED : 0;
    wcsncpy(b->port, port, DP_MAX_NAME);

    /* LoadLibraryW(hook) in the target: kernel32.dll is at the same address in every
     * process of a boot, so its address here is its address there. */
    SIZE_T bytes = (wcslen(hook) + 1) * sizeof(wchar_t);
    remote = VirtualAllocEx(process, NULL, bytes, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (!remote || !WriteProcessMemory(process, remote, hook, bytes, NULL)) {
        DWORD err = GetLastError();
        rc = err == ERROR_ACCESS_DENIED ? failure(EXIT_ACCESS, L"access denied writing into process %lu", (unsigned long)pid)
                                        : failure(EXIT_FAIL, L"cannot write into process %lu (error %lu)",
                                                  (unsigned long)pid, err);
        goto out;
    }
    FARPROC load = GetProcAddress(GetModuleHandleW(L"kernel32.dll"), "LoadLibraryW");
    LPTHREAD_START_ROUTINE start;
    PAPCFUNC apc;
    memcpy(&start, &load, sizeof load);
    memcpy(&apc, &load, sizeof load);
    if (thread) {
        if (!QueueUserAPC(apc, thread, (ULONG_PTR)remote)) {
            rc = failure(EXIT_FAIL, L"cannot queue the load into process %lu (error %lu)", (unsigned long)pid,
                         GetLastError());
            goto out;
        }
        ResumeThread(thread);
    } else {
        loader = CreateRemoteThread(process, NULL, 0, start, remote, 0, NULL);
        if (!loader) {
            DWORD err = GetLastError();
            rc = err == ERROR_ACCESS_DENIED
                     ? failure(EXIT_ACCESS, L"access denied starting a thread in process %lu", (unsigned long)pid)
                     : failure(EXIT_FAIL, L"cannot start a thread in process %lu (error %lu)", (unsigned long)pid, err);
            goto out;
        }
    }
    /* dphook answers from its thread once its detours are in (from its DllMain in a
     * launched process). The loader thread ending with LoadLibraryW's NULL first means
     * the load failed there (a missing dependency, a refusal before it could answer). */
    HANDLE wait[3] = {ready, process, loader};
    ULONGLONG until = GetTickCount64() + ATTACH_TIMEOUT_MS;
    DWORD w = WaitForMultipleObjects(loader ? 3 : 2, wait, FALSE, ATTACH_TIMEOUT_MS);
    if (w == WAIT_OBJECT_0 + 2) {
        DWORD loaded = 0;
        GetExitCodeThread(loader, &loaded);
        ULONGLONG now = GetTickCount64();
        if (loaded) /* loaded: the answer is on its way */
            w = WaitForMultipleObjects(2, wait, FALSE, now < until ? (DWORD)(until - now) : 0);
        else if (WaitForSingleObject(ready, 0) == WAIT_OBJECT_0)
            w = WAIT_OBJECT_0; /* refused, and said why */
    }
    /* The path's memory, once LoadLibraryW is done with it: the loader thread's end.
     * An APC's LoadLibraryW is still running when dphook answers from its DllMain: that
     * page stays in the launched process. */
    if (loader)
        load_ran = WaitForSingleObject(loader, ATTACH_TIMEOUT_MS) == WAIT_OBJECT_0;
    dpcap_block seen;
    read_block(b, &seen);
    if (w == WAIT_OBJECT_0 + 2) {
        rc = failure(EXIT_FAIL, L"LoadLibraryW of %ls failed in process %lu (a DLL it needs is missing there, or "
                                L"it refused before it could answer)",
                     hook, (unsigned long)pid);
    } else if (w == WAIT_FAILED) {
        rc = failure(EXIT_FAIL, L"cannot wait for process %lu (error %lu)", (unsigned long)pid, GetLastError());
    } else if (w == WAIT_OBJECT_0 + 1 && seen.state == DPCAP_PENDING) {
        rc = failure(EXIT_FAIL, L"process %lu exited before dphook.dll answered", (unsigned long)pid);
    } else if (w == WAIT_TIMEOUT) {
        rc = failure(EXIT_FAIL, L"dphook.dll did not answer within %u s in process %lu", ATTACH_TIMEOUT_MS / 1000,
                     (unsigned long)pid);
    } else if (seen.state == DPCAP_ATTACHED || seen.state == DPCAP_WAITING) {
        printf("dpcapture: attached to process %lu (%ls): its frames go to port \"%ls\"\n", (unsigned long)pid,
               exe_name(pid, exe, MAX_PATH), port);
        printf("dpcapture: %ls\n", seen.message);
        report(pid, port, seen.state == DPCAP_ATTACHED ? "attached" : "waiting", NULL);
        rc = 0;
    } else {
        rc = failure(seen.message[0] && wcsstr(seen.message, L"already attached") ? EXIT_ATTACHED : EXIT_FAIL,
                     L"dphook.dll did not attach to process %lu: %ls", (unsigned long)pid,
                     seen.message[0] ? seen.message : L"it refused to load");
    }
out:
    if (loader)
        CloseHandle(loader);
    if (remote && (load_ran || (!loader && !thread)))
        VirtualFreeEx(process, remote, 0, MEM_RELEASE);
    if (b)
        UnmapViewOfFile(b);
    if (ready)
        CloseHandle(ready);
    CloseHandle(section);
    return rc;
}

static int stop(DWORD pid)
{
    wchar_t name[128];
    HANDLE process = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    if (!process)
        return open_failure(pid);
    object_name(name, 128, pid, L"");
    HANDLE section = OpenFileMappingW(FILE_MAP_READ, FALSE, name);
    object_name(name, 128, pid, L".attached");
    HANDLE held = OpenMutexW(SYNCHRONIZE, FALSE, name);
    object_name(name, 128, pid, L".stop");
    HANDLE stop_event = OpenEventW(EVENT_MODIFY_STATE, FALSE, name);
    object_name(name, 128, pid, L".done");
    HANDLE done = OpenEventW(SYNCHRONIZE, FALSE, name);
    const dpcap_block *b = section ? MapViewOfFile(section, FILE_MAP_READ, 0, 0, sizeof *b) : NULL;
    int rc = EXIT_FAIL;
    dpcap_block seen;
    memset(&seen, 0, sizeof seen);
    if (!held || !stop_event || !done || !b || b->magic != DPCAP_MAGIC || b->size != sizeof *b) {
        rc = failure(EXIT_NOT_ATTACHED, L"process %lu is not attached", (unsigned long)pid);
        goto out;
    }
    SetEvent(stop_event);
    HANDLE wait[2] = {done, process};
    DWORD w = WaitForMultipleObjects(2, wait, FALSE, STOP_TIMEOUT_MS);
    read_block(b, &seen);
    if (w == WAIT_OBJECT_0) {
        /* dphook.dll unloads itself just after "done". */
        int loaded = 1;
        for (int i = 0; i < 60 && (loaded = dpcap_has_module(pid, L"dphook.dll")) == 1; i++)
            Sleep(50);
        printf("dpcapture: detached from process %lu; port \"%ls\": %llu swaps, %llu published, %llu dropped, "
               "%llu not captured, %llu errors; time in the swap p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
               (unsigned long)pid, seen.port, (unsigned long long)seen.swaps, (unsigned long long)seen.published,
               (unsigned long long)seen.dropped, (unsigned long long)seen.skipped, (unsigned long long)seen.errors,
               seen.cost_ms_p50, seen.cost_ms_p99, seen.cost_ms_max);
        if (seen.message[0])
            printf("dpcapture: %ls\n", seen.message);
        printf("dpcapture: dphook.dll %s\n", loaded == 0 ? "unloaded" : loaded == 1 ? "is still loaded" : "unloaded?");
        report(pid, seen.port, "detached", &seen);
        rc = 0;
    } else if (w == WAIT_OBJECT_0 + 1) {
        rc = failure(EXIT_FAIL, L"process %lu exited while detaching", (unsigned long)pid);
    } else {
        rc = failure(EXIT_FAIL, L"process %lu did not detach within %u s (%llu swaps seen, %llu published; %ls)",
                     (unsigned long)pid, STOP_TIMEOUT_MS / 1000, (unsigned long long)seen.swaps,
                     (unsigned long long)seen.published, seen.message);
    }
out:
    if (b)
        UnmapViewOfFile(b);
    HANDLE hs[] = {section, held, stop_event, done, process};
    for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
        if (hs[i])
            CloseHandle(hs[i]);
    return rc;
}

/* The one process running the executable exe (a file name, any case), else an exit code. */
static int pid_of(const wchar_t *exe, DWORD *out)
{
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
    if (snap == INVALID_HANDLE_VALUE)
        return failure(EXIT_FAIL, L"cannot list processes (error %lu)", GetLastError());
    PROCESSENTRY32W pe;
    pe.dwSize = sizeof pe;
    unsigned found = 0;
    for (BOOL more = Process32FirstW(snap, &pe); more; more = Process32NextW(snap, &pe))
        if (!_wcsicmp(pe.szExeFile, exe) && pe.th32ProcessID != GetCurrentProcessId()) {
            *out = pe.th32ProcessID;
            found++;
        }
    CloseHandle(snap);
    if (found == 0)
        return failure(EXIT_NO_PROCESS, L"no process runs %ls", exe);
    if (found > 1)
        return failure(EXIT_USAGE, L"%u processes run %ls: name one with --pid", found, exe);
    return 0;
}

static bool parse_pid(const wchar_t *s, DWORD *out)
{
    wchar_t *end;
    unsigned long v = wcstoul(s, &end, 10);
    if (!*s || *end || v == 0 || v > 0xFFFFFFFFul)
        return false;
    *out = (DWORD)v;
    return true;
}

int wmain(int argc, wchar_t **argv);
int wmain(int argc, wchar_t **argv)
{
    DWORD pid = 0;
    const wchar_t *launch = NULL, *port = NULL;
    bool stopping = false;
    wchar_t defname[32];

    for (int i = 1; i < argc; i++) {
        const wchar_t *a = argv[i];
        bool more = i + 1 < argc;
        if (!wcscmp(a, L"--pid") && more) {
            if (!parse_pid(argv[++i], &pid))
                return failure(EXIT_USAGE, L"--pid needs a process id, not \"%ls\"", argv[i]);
        } else if (!wcscmp(a, L"--exe") && more) {
            int rc = pid_of(argv[++i], &pid);
            if (rc)
                return rc;
        } else if (!wcscmp(a, L"--launch") && more) {
            launch = argv[++i];
        } else if (!wcscmp(a, L"--name") && more) {
            port = argv[++i];
        } else if (!wcscmp(a, L"--report") && more) {
            g_report = argv[++i];
        } else if (!wcscmp(a, L"--stop")) {
            stopping = true;
        } else {
            return usage();
        }
    }
    if ((!pid) == (!launch) || (stopping && (!pid || port)))
        return usage();
    if (port && !valid_name(port))
        return failure(EXIT_USAGE, L"--name: 1..%u characters of [A-Za-z0-9_.-]", DP_MAX_NAME);
    setvbuf(stdout, NULL, _IONBF, 0);
    if (stopping)
        return stop(pid);

    if (pid) {
        HANDLE process = OpenProcess(PROCESS_CREATE_THREAD | PROCESS_QUERY_INFORMATION | PROCESS_VM_OPERATION |
                                         PROCESS_VM_WRITE | PROCESS_VM_READ | SYNCHRONIZE,
                                     FALSE, pid);
        if (!process)
            return open_failure(pid);
        if (!port) {
            _snwprintf(defname, 31, L"capture.%lu", (unsigned long)pid);
            defname[31] = 0;
            port = defname;
        }
        int rc = attach(process, pid, NULL, port);
        CloseHandle(process);
        return rc;
    }

    /* --launch: suspended, attached by an APC to its first thread, then resumed. */
    size_t len = wcslen(launch);
    wchar_t *cmd = malloc((len + 1) * sizeof *cmd);
    if (!cmd)
        return failure(EXIT_FAIL, L"out of memory");
    wcscpy(cmd, launch);
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    memset(&pi, 0, sizeof pi);
    if (!CreateProcessW(NULL, cmd, NULL, NULL, FALSE, CREATE_SUSPENDED, NULL, NULL, &si, &pi)) {
        DWORD err = GetLastError();
        free(cmd);
        return failure(err == ERROR_ACCESS_DENIED ? EXIT_ACCESS : EXIT_FAIL, L"cannot start %ls (error %lu)", launch,
                       err);
    }
    free(cmd);
    if (!port) {
        _snwprintf(defname, 31, L"capture.%lu", (unsigned long)pi.dwProcessId);
        defname[31] = 0;
        port = defname;
    }
    printf("dpcapture: started process %lu: %ls\n", (unsigned long)pi.dwProcessId, launch);
    int rc = attach(pi.hProcess, pi.dwProcessId, pi.hThread, port);
    if (rc != 0) {
        /* Not attached: the process does not run on without what was asked. */
        TerminateProcess(pi.hProcess, 1);
    }
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
    return rc;
}
