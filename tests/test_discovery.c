/*
 * test_discovery.c - dp_list_ports: a producer in another process is listed with its
 * geometry, pid, frame and rate, and disappears when killed; in-process ports come and
 * go with their handles; bad arguments.
 */
#include "d3d12util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capabilities.h"
#include "dptest.h"

/* The live ports, counted first and then filled; *count gets how many were filled.
 * free() the result. */
static DP_PORT_INFO *discovery_list(uint32_t *count)
{
    uint32_t n = dp_list_ports(NULL, 0), cap = n + 8, got;
    DP_PORT_INFO *all = calloc(cap, sizeof(*all));
    *count = 0;
    if (!all)
        return NULL;
    got = dp_list_ports(all, cap);
    *count = got < cap ? got : cap;
    return all;
}

/* The entry named name in a fresh list: true and *out filled if listed. */
static bool discovery_find(const wchar_t *name, DP_PORT_INFO *out)
{
    uint32_t n;
    DP_PORT_INFO *all = discovery_list(&n);
    bool found = false;
    for (uint32_t i = 0; all && i < n && !found; i++) {
        if (!wcscmp(all[i].name, name)) {
            *out = all[i];
            found = true;
        }
    }
    free(all);
    return found;
}

/* argv: role name seconds -> a 96x64 HALF port with 3 slots, publishing about 100
 * frames a second (begin/end on a queue, no pixels written) until the parent kills it
 * or `seconds` pass. */
DP_CHILD(discovery_producer)
{
    DP_PORT_DESC d = {0};
    DP_HANDLE h;
    tu_gpu g;
    ULONGLONG start, limit;
    uint64_t published = 0, busy = 0;
    if (argc < 3 || !dp12_init())
        return 2;
    limit = wcstoul(argv[2], NULL, 10) * 1000ull;
    d.name = argv[1];
    d.width = 96;
    d.height = 64;
    d.format = DP_FORMAT_HALF;
    d.slots = 3;
    h = dp12_create_port(&d);
    if (!ok(h != NULL, "create: %s", dp_last_error_message()))
        return 1;
    if (!ok(tu_gpu_init(&g), "no queue"))
        return 1;
    for (start = GetTickCount64(); GetTickCount64() - start < limit && !dptest_failures(); Sleep(10)) {
        ID3D12Resource *target = NULL;
        uint64_t frame = 0;
        DP_RESULT r = dp12_begin_frame(h, &target);
        if (r == DP_ERROR_BUSY) {
            busy++;
            continue;
        }
        if (!ok(r == DP_OK && target, "begin_frame: %s (%s)", dp_result_string(r), dp_last_error_message()))
            break;
        r = dp12_end_frame(h, g.queue, &frame);
        ok(r == DP_OK && frame > 0, "end_frame: %s (%s), frame %llu", dp_result_string(r), dp_last_error_message(),
           (unsigned long long)frame);
        published++;
    }
    dptest_diag("discovery_producer: %llu frames published, %llu busy, nobody killed it", (unsigned long long)published,
                (unsigned long long)busy);
    tu_gpu_free(&g);
    dp12_close(h);
    dp12_shutdown();
    return dptest_failures() ? 1 : 0;
}

DP_TEST(discovery_lists_producer_in_another_process)
{
    wchar_t name[64];
    DP_PORT_INFO info = {0};
    dptest_child c;
    DP_TRANSPORT expect;
    bool listed = false;
    DWORD code = 0;
    ULONGLONG start;
    if (!dp12_init())
        skip("no D3D12 device: %s", dp_last_error_message());
    /* DP_TRANSPORT_AUTO picks the GPU where the driver shares NT handles. */
    expect = dpt_capability(DPCAP_NT_SHARING)->yes ? DP_TRANSPORT_GPU : DP_TRANSPORT_HOST;
    dp12_shutdown(); /* listing needs no init */
    swprintf(name, 64, L"disc%lu", (unsigned long)GetCurrentProcessId());
    c = dptest_spawn(L"discovery_producer %ls 60", name);
    if (!c.process)
        return;
    /* Listed once it has published, with a rate once a one-second window has passed. */
    for (start = GetTickCount64(); GetTickCount64() - start < 30000; Sleep(50)) {
        listed = discovery_find(name, &info);
        if (listed && info.last_frame > 0 && info.fps > 10.0)
            break;
        if (WaitForSingleObject(c.process, 0) == WAIT_OBJECT_0)
            break;
    }
    if (ok(listed, "the producer's port %ls is not listed", name)) {
        ok(!wcscmp(info.name, name), "name %ls", info.name);
        ok(info.width == 96 && info.height == 64, "size %ux%u", info.width, info.height);
        ok(info.format == DP_FORMAT_HALF, "format %d", (int)info.format);
        ok(info.transport == expect, "transport %d, expected %d", (int)info.transport, (int)expect);
        ok(info.slots == 3, "slots %u", info.slots);
        ok(info.row_pitch == 256, "row pitch %u (96 x 2 bytes, 256-aligned)", info.row_pitch);
        ok(info.flags == 0, "flags 0x%x", info.flags);
        ok(info.producer_pid == c.pid, "producer pid %u, the child is %lu", info.producer_pid, c.pid);
        ok(!info.is_producer, "a listed port claims to be the caller's");
        ok(info.last_frame > 0, "last frame %llu", (unsigned long long)info.last_frame);
        ok(info.frames_published > 0, "frames published %llu", (unsigned long long)info.frames_published);
        ok(info.fps > 10.0, "fps %.1f at about 100 frames a second", info.fps);
        dptest_diag("listed %ls: frame %llu, %llu published, %llu dropped, %.1f fps", info.name,
                    (unsigned long long)info.last_frame, (unsigned long long)info.frames_published,
                    (unsigned long long)info.frames_dropped, info.fps);
    }
    ok(WaitForSingleObject(c.process, 0) == WAIT_TIMEOUT, "the producer exited early");
    /* A killed producer closes nothing and unregisters nothing: the list must see it gone. */
    ok(TerminateProcess(c.process, 0), "TerminateProcess: %lu", GetLastError());
    ok(WaitForSingleObject(c.process, 10000) == WAIT_OBJECT_0, "the producer did not die");
    ok(!discovery_find(name, &info), "the killed producer's port is still listed (pid %u)", info.producer_pid);
    dptest_wait_child(&c, 10000, &code);
}

DP_TEST(discovery_null_out_with_capacity)
{
    DP_PORT_INFO info;
    uint32_t n;
    /* A different last error first, so the check below sees this call's. */
    ok(dp12_open_port(L"discovery-none") == NULL, "opened a port without init");
    ok(dp_last_error() != DP_ERROR_INVALID_ARGUMENT, "unexpected %s", dp_result_string(dp_last_error()));
    n = dp_list_ports(NULL, 5);
    ok(n == 0, "dp_list_ports(NULL, 5) returned %u", n);
    ok(dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "dp_list_ports(NULL, 5) gave %s",
       dp_result_string(dp_last_error()));
    /* Capacity 0 with a buffer counts and writes nothing. */
    memset(&info, 0x5a, sizeof(info));
    n = dp_list_ports(&info, 0);
    ok(((const unsigned char *)&info)[0] == 0x5a && info.width == 0x5a5a5a5au, "capacity 0 wrote an entry");
    ok(n == dp_list_ports(NULL, 0), "counts differ: %u", n);
}

DP_TEST(discovery_in_process_port_listed_then_gone)
{
    wchar_t name[64];
    DP_PORT_DESC d = {0};
    DP_PORT_INFO info = {0};
    DP_HANDLE h;
    if (!dp12_init())
        skip("no D3D12 device: %s", dp_last_error_message());
    swprintf(name, 64, L"discin%lu", (unsigned long)GetCurrentProcessId());
    ok(!discovery_find(name, &info), "listed before it exists");
    d.name = name;
    d.width = 32;
    d.height = 16;
    d.format = DP_FORMAT_RAW_32BIT;
    d.slots = 2;
    h = dp12_create_port(&d);
    if (ok(h != NULL, "create: %s", dp_last_error_message())) {
        if (ok(discovery_find(name, &info), "a port made in this process is not listed")) {
            ok(info.producer_pid == GetCurrentProcessId(), "producer pid %u", info.producer_pid);
            ok(info.width == 32 && info.height == 16 && info.format == DP_FORMAT_RAW_32BIT && info.slots == 2,
               "listed as %ux%u format %d slots %u", info.width, info.height, (int)info.format, info.slots);
            ok(info.last_frame == 0, "last frame %llu before any frame", (unsigned long long)info.last_frame);
        }
        dp12_close(h);
        ok(!discovery_find(name, &info), "a closed port is still listed");
    }
    dp12_shutdown();
}

DP_TEST(discovery_capacity_smaller_than_count)
{
    wchar_t name[2][64];
    DP_PORT_DESC d = {0};
    DP_HANDLE h[2];
    DP_PORT_INFO out[2];
    uint32_t total, n;
    if (!dp12_init())
        skip("no D3D12 device: %s", dp_last_error_message());
    d.width = d.height = 8;
    for (int i = 0; i < 2; i++) {
        swprintf(name[i], 64, L"disccap%d.%lu", i, (unsigned long)GetCurrentProcessId());
        d.name = name[i];
        h[i] = dp12_create_port(&d);
        ok(h[i] != NULL, "create %ls: %s", name[i], dp_last_error_message());
    }
    total = dp_list_ports(NULL, 0);
    ok(total >= 2, "%u ports listed with two open", total);
    memset(out, 0x5a, sizeof(out));
    n = dp_list_ports(out, 1);
    ok(n == total, "capacity 1 returned %u, the count is %u", n, total);
    ok(out[0].width != 0x5a5a5a5au && out[0].name[0] != 0, "the one entry was not filled");
    ok(out[1].width == 0x5a5a5a5au, "an entry beyond the capacity was written");
    for (int i = 0; i < 2; i++)
        dp12_close(h[i]);
    dp12_shutdown();
}
