/*
 * bench_d3d12.c - the D3D12 children of dpbench.exe: a producer rendering into the
 * port's slots through the frame protocol (dp12_begin_frame / dp12_end_frame) and a
 * consumer taking frames with dp12_acquire_frame / dp12_release_frame.
 *
 * The producer's "render" is a full ClearRenderTargetView and a second one on the stamp
 * pixels of the top row: GPU work only, no CPU copy. The consumer copies the stamp
 * pixels of the texture it acquired into a readback buffer on its queue, after the GPU
 * wait acquire put there, and waits for that copy: then the frame is usable.
 */
#include "bench.h"

#include <stdio.h>
#include <string.h>

#include <d3d12.h>
#include <dxgi1_4.h>

#include "directport.h"

/* Command allocators in flight: a producer waits for frame i - RING before it records
 * frame i, which keeps at most RING frames queued on the GPU, as a swap chain would. */
#define RING BENCH_FRAME_LATENCY

typedef struct {
    ID3D12Device *device;
    ID3D12CommandQueue *queue;
    ID3D12CommandAllocator *alloc[RING];
    uint64_t alloc_done[RING];  /* fence value after which alloc[i] may be reset */
    ID3D12GraphicsCommandList *list;
    ID3D12Fence *fence;
    uint64_t value;
    HANDLE event;
} bench_gpu;

static bool bench_gpu_init(bench_gpu *g, char *err)
{
    D3D12_COMMAND_QUEUE_DESC qd = {D3D12_COMMAND_LIST_TYPE_DIRECT, 0, D3D12_COMMAND_QUEUE_FLAG_NONE, 0};
    memset(g, 0, sizeof(*g));
    if (!dp12_init()) {
        bench_error(err, "dp12_init: %s", dp_last_error_message());
        return false;
    }
    g->device = dp12_get_device();
    g->event = CreateEventW(NULL, FALSE, FALSE, NULL);
    if (FAILED(ID3D12Device_CreateCommandQueue(g->device, &qd, &IID_ID3D12CommandQueue, (void **)&g->queue)) ||
        FAILED(ID3D12Device_CreateFence(g->device, 0, D3D12_FENCE_FLAG_NONE, &IID_ID3D12Fence, (void **)&g->fence)))
        goto fail;
    for (uint32_t i = 0; i < RING; i++)
        if (FAILED(ID3D12Device_CreateCommandAllocator(g->device, D3D12_COMMAND_LIST_TYPE_DIRECT,
                                                       &IID_ID3D12CommandAllocator, (void **)&g->alloc[i])))
            goto fail;
    if (FAILED(ID3D12Device_CreateCommandList(g->device, 0, D3D12_COMMAND_LIST_TYPE_DIRECT, g->alloc[0], NULL,
                                              &IID_ID3D12GraphicsCommandList, (void **)&g->list)) ||
        FAILED(ID3D12GraphicsCommandList_Close(g->list)))
        goto fail;
    return true;
fail:
    bench_error(err, "creating the D3D12 queue, allocators or list failed");
    return false;
}

static void bench_gpu_wait(bench_gpu *g, uint64_t value)
{
    if (ID3D12Fence_GetCompletedValue(g->fence) < value &&
        SUCCEEDED(ID3D12Fence_SetEventOnCompletion(g->fence, value, g->event)))
        WaitForSingleObject(g->event, 10000);
}

static void bench_gpu_wait_if(bench_gpu *g, uint64_t value, bool wait)
{
    if (wait)
        bench_gpu_wait(g, value);
}

/* Resets allocator i % RING (waiting for the GPU to be done with it) and the list. */
static bool bench_gpu_begin(bench_gpu *g, uint32_t i)
{
    ID3D12CommandAllocator *a = g->alloc[i % RING];
    bench_gpu_wait(g, g->alloc_done[i % RING]);
    return SUCCEEDED(ID3D12CommandAllocator_Reset(a)) && SUCCEEDED(ID3D12GraphicsCommandList_Reset(g->list, a, NULL));
}

/* Closes and runs the list, then signals the queue's fence; returns the value. */
static uint64_t bench_gpu_submit(bench_gpu *g, uint32_t i)
{
    ID3D12CommandList *lists[1] = {(ID3D12CommandList *)g->list};
    ID3D12GraphicsCommandList_Close(g->list);
    ID3D12CommandQueue_ExecuteCommandLists(g->queue, 1, lists);
    ID3D12CommandQueue_Signal(g->queue, g->fence, ++g->value);
    g->alloc_done[i % RING] = g->value;
    return g->value;
}

static void bench_gpu_free(bench_gpu *g)
{
    if (g->queue && g->fence) {
        ID3D12CommandQueue_Signal(g->queue, g->fence, ++g->value);
        bench_gpu_wait(g, g->value);
    }
    if (g->list)
        ID3D12GraphicsCommandList_Release(g->list);
    for (uint32_t i = 0; i < RING; i++)
        if (g->alloc[i])
            ID3D12CommandAllocator_Release(g->alloc[i]);
    if (g->queue)
        ID3D12CommandQueue_Release(g->queue);
    if (g->fence)
        ID3D12Fence_Release(g->fence);
    if (g->event)
        CloseHandle(g->event);
    memset(g, 0, sizeof(*g));
}

static void bench_barrier(ID3D12GraphicsCommandList *list, ID3D12Resource *r, D3D12_RESOURCE_STATES from,
                          D3D12_RESOURCE_STATES to)
{
    D3D12_RESOURCE_BARRIER b;
    memset(&b, 0, sizeof(b));
    b.Type = D3D12_RESOURCE_BARRIER_TYPE_TRANSITION;
    b.Transition.pResource = r;
    b.Transition.Subresource = D3D12_RESOURCE_BARRIER_ALL_SUBRESOURCES;
    b.Transition.StateBefore = from;
    b.Transition.StateAfter = to;
    ID3D12GraphicsCommandList_ResourceBarrier(list, 1, &b);
}

static uint64_t bench_copied(void)
{
    DP_STATS st;
    return dp_get_stats(&st) ? st.bytes_copied_cpu : 0;
}

/* The D3D12 adapter's description, for the report. */
static void bench_adapter_name(bench_shared *s, ID3D12Device *device)
{
    IDXGIFactory4 *f = NULL;
    IDXGIAdapter1 *a = NULL;
    DXGI_ADAPTER_DESC1 d;
    LUID luid;
    if (FAILED(CreateDXGIFactory1(&IID_IDXGIFactory4, (void **)&f)))
        return;
    device->lpVtbl->GetAdapterLuid(device, &luid);
    if (SUCCEEDED(IDXGIFactory4_EnumAdapterByLuid(f, luid, &IID_IDXGIAdapter1, (void **)&a)) &&
        SUCCEEDED(IDXGIAdapter1_GetDesc1(a, &d)))
        snprintf(s->d3d12_adapter, sizeof(s->d3d12_adapter), "%ls", d.Description);
    if (a)
        IDXGIAdapter1_Release(a);
    IDXGIFactory4_Release(f);
}

/* ---- producer ------------------------------------------------------------------------------ */

/* The producer's own render target, for the frames it renders while every slot is busy
 * (a real loop renders them anyway; they are just not published). */
static ID3D12Resource *bench_own_target(bench_gpu *g, uint32_t w, uint32_t h)
{
    D3D12_HEAP_PROPERTIES heap = {0};
    D3D12_RESOURCE_DESC d = {0};
    ID3D12Resource *r = NULL;
    heap.Type = D3D12_HEAP_TYPE_DEFAULT;
    d.Dimension = D3D12_RESOURCE_DIMENSION_TEXTURE2D;
    d.Width = w;
    d.Height = h;
    d.DepthOrArraySize = 1;
    d.MipLevels = 1;
    d.Format = DXGI_FORMAT_R8G8B8A8_UNORM;
    d.SampleDesc.Count = 1;
    d.Flags = D3D12_RESOURCE_FLAG_ALLOW_RENDER_TARGET;
    if (FAILED(ID3D12Device_CreateCommittedResource(g->device, &heap, D3D12_HEAP_FLAG_NONE, &d,
                                                    D3D12_RESOURCE_STATE_COMMON, NULL, &IID_ID3D12Resource,
                                                    (void **)&r)))
        return NULL;
    return r;
}

int bench_d3d12_producer(bench_shared *s)
{
    const uint32_t total = s->warmup + s->frames;
    D3D12_DESCRIPTOR_HEAP_DESC hd = {D3D12_DESCRIPTOR_HEAP_TYPE_RTV, 1, D3D12_DESCRIPTOR_HEAP_FLAG_NONE, 0};
    ID3D12DescriptorHeap *heap = NULL;
    ID3D12Resource *own = NULL;
    D3D12_CPU_DESCRIPTOR_HANDLE rtv;
    DP_PORT_DESC d = {0};
    DP_HANDLE port = NULL;
    bench_gpu g;
    uint64_t bytes0 = 0;
    int64_t next = 0;
    int rc = 1;

    if (!bench_gpu_init(&g, s->producer_error))
        goto out;
    bench_adapter_name(s, g.device);
    if (FAILED(ID3D12Device_CreateDescriptorHeap(g.device, &hd, &IID_ID3D12DescriptorHeap, (void **)&heap))) {
        bench_error(s->producer_error, "CreateDescriptorHeap failed");
        goto out;
    }
    /* mingw's C binding returns the handle through an out parameter */
    heap->lpVtbl->GetCPUDescriptorHandleForHeapStart(heap, &rtv);
    own = bench_own_target(&g, s->width, s->height);
    if (!own) {
        bench_error(s->producer_error, "creating a %ux%u render target failed", s->width, s->height);
        goto out;
    }
    bytes0 = bench_copied();
    d.name = s->port;
    d.width = s->width;
    d.height = s->height;
    d.format = DP_FORMAT_RGBA8; /* the stamp is cleared and copied back as R8G8B8A8 */
    port = dp12_create_port(&d);
    if (!port) {
        bench_error(s->producer_error, "dp12_create_port: %s", dp_last_error_message());
        goto out;
    }
    strcpy(s->transport, dp_get_transport(port) == DP_TRANSPORT_GPU ? "gpu" : "host");
    InterlockedExchange(&s->producer_ready, 1);
    if (!bench_wait_count(s, &s->consumers_ready, (LONG)s->consumers, 60000)) {
        bench_error(s->producer_error, "the consumers did not get ready");
        goto out;
    }
    for (uint32_t seq = 1; seq <= total && !s->abort; seq++) {
        ID3D12Resource *target = NULL;
        int64_t t0, t1, t2, t3;
        double cpu0, cpu1, cpu2;
        DP_RESULT r;
        float bg[4] = {(float)(seq % 7) / 7.0f, 0.25f, 0.5f, 1.0f};
        float stamp[4] = {(float)(seq & 255) / 255.0f, (float)((seq >> 8) & 255) / 255.0f,
                          (float)((seq >> 16) & 255) / 255.0f, 1.0f};
        D3D12_RECT rect = {0, 0, BENCH_STAMP_PIXELS, 1};

        bench_sleep_until(bench_pace(s, &next));
        cpu0 = bench_thread_cpu();
        t0 = bench_qpc();
        r = dp12_begin_frame(port, &target);
        t1 = bench_qpc();
        cpu1 = bench_thread_cpu();
        if (seq == s->warmup + 1)
            s->producer_start_qpc = t0;
        if (r == DP_ERROR_BUSY) {
            s->publish_qpc[seq] = t0;
            bench_record_publish(s, seq, t1 - t0, true, 0);
            target = own;
        } else if (r != DP_OK) {
            bench_error(s->producer_error, "dp12_begin_frame: %s", dp_last_error_message());
            goto out;
        }
        /* the frame's rendering: not part of the publish calls */
        if (!bench_gpu_begin(&g, seq)) {
            bench_error(s->producer_error, "resetting the command list failed");
            goto out;
        }
        ID3D12Device_CreateRenderTargetView(g.device, target, NULL, rtv);
        bench_barrier(g.list, target, D3D12_RESOURCE_STATE_COMMON, D3D12_RESOURCE_STATE_RENDER_TARGET);
        ID3D12GraphicsCommandList_ClearRenderTargetView(g.list, rtv, bg, 0, NULL);
        ID3D12GraphicsCommandList_ClearRenderTargetView(g.list, rtv, stamp, 1, &rect);
        bench_barrier(g.list, target, D3D12_RESOURCE_STATE_RENDER_TARGET, D3D12_RESOURCE_STATE_COMMON);
        bench_gpu_wait_if(&g, bench_gpu_submit(&g, seq), s->settle); /* --settle: rendered first */
        if (target == own)
            continue;
        cpu2 = bench_thread_cpu();
        t2 = bench_qpc();
        s->publish_qpc[seq] = t2;
        r = dp12_end_frame(port, g.queue, NULL);
        t3 = bench_qpc();
        if (r != DP_OK) {
            bench_error(s->producer_error, "dp12_end_frame: %s", dp_last_error_message());
            goto out;
        }
        bench_record_publish(s, seq, (t1 - t0) + (t3 - t2), false, (cpu1 - cpu0) + (bench_thread_cpu() - cpu2));
    }
    s->producer_end_qpc = bench_qpc();
    InterlockedExchange(&s->producer_done, 1);
    bench_wait_count(s, &s->consumers_done, (LONG)s->consumers, 30000);
    rc = 0;
out:
    InterlockedExchange(&s->producer_done, 1);
    if (rc)
        fprintf(stderr, "dpbench: d3d12 producer: %s\n", s->producer_error);
    bench_gpu_free(&g);
    if (own)
        ID3D12Resource_Release(own);
    if (port)
        dp12_close(port); /* stops the worker: its counts are final */
    s->producer_bytes = bench_copied() - bytes0;
    if (heap)
        ID3D12DescriptorHeap_Release(heap);
    dp12_shutdown();
    return rc;
}

/* ---- consumer ------------------------------------------------------------------------------ */

int bench_d3d12_consumer(bench_shared *s, uint32_t index)
{
    bench_consumer *c = &s->consumer[index];
    D3D12_HEAP_PROPERTIES heap = {0};
    D3D12_RESOURCE_DESC bd = {0};
    ID3D12Resource *readback = NULL;
    DP_HANDLE port = NULL;
    bench_gpu g;
    uint64_t bytes0 = 0;
    int64_t last_frame_qpc;
    uint32_t i = 0;
    int rc = 1;

    if (!bench_gpu_init(&g, c->error))
        goto out;
    heap.Type = D3D12_HEAP_TYPE_READBACK;
    bd.Dimension = D3D12_RESOURCE_DIMENSION_BUFFER;
    bd.Width = D3D12_TEXTURE_DATA_PITCH_ALIGNMENT;
    bd.Height = 1;
    bd.DepthOrArraySize = 1;
    bd.MipLevels = 1;
    bd.SampleDesc.Count = 1;
    bd.Layout = D3D12_TEXTURE_LAYOUT_ROW_MAJOR;
    if (FAILED(ID3D12Device_CreateCommittedResource(g.device, &heap, D3D12_HEAP_FLAG_NONE, &bd,
                                                    D3D12_RESOURCE_STATE_COPY_DEST, NULL, &IID_ID3D12Resource,
                                                    (void **)&readback))) {
        bench_error(c->error, "creating the readback buffer failed");
        goto out;
    }
    if (!bench_wait_count(s, &s->producer_ready, 1, 60000)) {
        bench_error(c->error, "the producer did not get ready: %s", s->producer_error);
        goto out;
    }
    bytes0 = bench_copied();
    port = dp12_open_port(s->port);
    if (!port) {
        bench_error(c->error, "dp12_open_port: %s", dp_last_error_message());
        goto out;
    }
    InterlockedIncrement(&s->consumers_ready);
    if (!s->frames) {
        int64_t start = bench_qpc(), end = start + s->qpc_freq * s->idle_ms / 1000;
        double cpu0;
        bench_calibrate_cpu(c, 200);
        start = bench_qpc();
        end = start + s->qpc_freq * s->idle_ms / 1000;
        cpu0 = bench_process_cpu();
        while (bench_qpc() < end && !s->abort) {
            ID3D12Resource *src = NULL;
            if (dp12_acquire_frame(port, g.queue, 1000, &src, NULL) == DP_OK)
                dp12_release_frame(port, g.queue);
        }
        c->idle_cpu_s = bench_process_cpu() - cpu0;
        c->idle_wall_s = bench_ms(s, bench_qpc() - start) / 1000.0;
        rc = 0;
        goto out;
    }
    last_frame_qpc = bench_qpc();
    for (;; i++) {
        ID3D12Resource *src = NULL;
        D3D12_TEXTURE_COPY_LOCATION from = {0}, to = {0};
        D3D12_BOX box = {0, 0, 0, BENCH_STAMP_PIXELS, 1, 1};
        D3D12_RANGE range = {0, 4 * BENCH_STAMP_PIXELS};
        uint8_t *px = NULL;
        uint32_t seq = 0;
        DP_RESULT r = dp12_acquire_frame(port, g.queue, 200, &src, NULL);
        if (r == DP_ERROR_TIMEOUT || r == DP_ERROR_DISCONNECTED) {
            if (bench_consumer_should_stop(s, last_frame_qpc) || r == DP_ERROR_DISCONNECTED)
                break;
            continue;
        }
        if (r != DP_OK) {
            bench_error(c->error, "dp12_acquire_frame: %s", dp_last_error_message());
            goto out;
        }
        if (!bench_gpu_begin(&g, i)) {
            bench_error(c->error, "resetting the command list failed");
            goto out;
        }
        from.pResource = src;
        from.Type = D3D12_TEXTURE_COPY_TYPE_SUBRESOURCE_INDEX;
        to.pResource = readback;
        to.Type = D3D12_TEXTURE_COPY_TYPE_PLACED_FOOTPRINT;
        to.PlacedFootprint.Footprint.Format = DXGI_FORMAT_R8G8B8A8_UNORM;
        to.PlacedFootprint.Footprint.Width = BENCH_STAMP_PIXELS;
        to.PlacedFootprint.Footprint.Height = 1;
        to.PlacedFootprint.Footprint.Depth = 1;
        to.PlacedFootprint.Footprint.RowPitch = D3D12_TEXTURE_DATA_PITCH_ALIGNMENT;
        bench_barrier(g.list, src, D3D12_RESOURCE_STATE_COMMON, D3D12_RESOURCE_STATE_COPY_SOURCE);
        ID3D12GraphicsCommandList_CopyTextureRegion(g.list, &to, 0, 0, 0, &from, &box);
        bench_barrier(g.list, src, D3D12_RESOURCE_STATE_COPY_SOURCE, D3D12_RESOURCE_STATE_COMMON);
        bench_gpu_wait(&g, bench_gpu_submit(&g, i));
        if (SUCCEEDED(ID3D12Resource_Map(readback, 0, &range, (void **)&px))) {
            seq = bench_stamp_seq(px);
            ID3D12Resource_Unmap(readback, 0, NULL);
        }
        last_frame_qpc = bench_qpc();
        dp12_release_frame(port, g.queue);
        c->acquired++;
        if (bench_consumer_got(s, c, seq, last_frame_qpc))
            break;
    }
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "dpbench: d3d12 consumer %u: %s\n", index, c->error);
    bench_gpu_free(&g);
    if (readback)
        ID3D12Resource_Release(readback);
    if (port)
        dp12_close(port); /* stops the worker: its counts are final */
    c->bytes_copied = bench_copied() - bytes0;
    dp12_shutdown();
    return rc;
}
