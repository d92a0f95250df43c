/*
 * test_ring.c - the frame protocol across processes on D3D12: the cases of dpring.h over
 * its table (whole frames in order, several consumers, legacy and frame-protocol sides
 * mixed, stalled and killed consumers, killed and restarted producers, resize, bad
 * arguments), and its own NULL queues.
 */
#include "dpring.h"

#include "dptest.h"

/* A dp12 producer in this process, dp12 consumer children. */
static void stream(const char *what, int consumers, long frames, int pace_ms, uint32_t slots,
                   DP_TRANSPORT transport, long resize_at)
{
    ring_plan plan = {.what = what,
                      .prod = &dpt_d3d12,
                      .cons = &dpt_d3d12,
                      .consumers = consumers,
                      .frames = frames,
                      .pace_ms = pace_ms,
                      .slots = slots,
                      .transport = transport,
                      .resize_at = resize_at};
    case_ring_stream(&plan);
}

DP_TEST(ring_d3d12_300_frames_one_consumer)
{
    stream("one", 1, 300, 2, 3, DP_TRANSPORT_AUTO, 0);
}

DP_TEST(ring_d3d12_300_frames_two_consumers)
{
    stream("two", 2, 300, 2, 3, DP_TRANSPORT_AUTO, 0);
}

DP_TEST(ring_d3d12_unpaced_producer_never_blocks)
{
    /* As fast as it can: frames are dropped, never waited for; consumers still see
     * only whole frames in order. */
    stream("unpaced", 1, 300, 0, 2, DP_TRANSPORT_AUTO, 0);
}

DP_TEST(ring_d3d12_frames_gpu_transport)
{
    stream("gpu", 1, 100, 2, 3, DP_TRANSPORT_GPU, 0);
}

/* ---- Legacy and frame protocol mixed ---------------------------------------------------- */

DP_TEST(ring_legacy_producer_frame_consumer)
{
    case_ring_legacy_producer_frame_consumer(&dpt_d3d12);
}

DP_TEST(ring_frame_producer_legacy_consumer)
{
    case_ring_frame_producer_legacy_consumer(&dpt_d3d12);
}

/* ---- Stalls, kills, restarts -------------------------------------------------------------- */

DP_TEST(ring_stalled_and_killed_consumer)
{
    case_ring_stalled_and_killed_consumer(&dpt_d3d12);
}

DP_TEST(ring_producer_killed_then_restarted)
{
    case_ring_producer_killed_then_restarted(&dpt_d3d12);
}

DP_TEST(ring_producer_closed_then_restarted)
{
    case_ring_producer_closed_then_restarted(&dpt_d3d12);
}

/* ---- Resize ---------------------------------------------------------------------------- */

DP_TEST(ring_resize_mid_stream)
{
    stream("resize", 1, 60, 8, 3, DP_TRANSPORT_AUTO, 30);
}

/* ---- Bad arguments ------------------------------------------------------------------------ */

/* A NULL queue is a bad argument wherever dp12 takes one: prod has a frame begun, cons
 * nothing to acquire (it would time out). */
static void null_queue_begun(dpt_gpu *g, DP_HANDLE prod, DP_HANDLE cons)
{
    ID3D12Resource *tex = NULL;
    (void)g;
    ok(dp12_end_frame(prod, NULL, NULL) == DP_ERROR_INVALID_ARGUMENT && dp_last_error() == DP_ERROR_INVALID_ARGUMENT,
       "end_frame with no queue: %s", dp_result_string(dp_last_error()));
    ok(dp12_acquire_frame(cons, NULL, 0, &tex, NULL) == DP_ERROR_INVALID_ARGUMENT &&
           dp_last_error() == DP_ERROR_INVALID_ARGUMENT,
       "acquire_frame with no queue: %s", dp_result_string(dp_last_error()));
}

/* cons holds a frame. */
static void null_queue_held(dpt_gpu *g, DP_HANDLE cons)
{
    (void)g;
    dp12_release_frame(cons, NULL);
    ok(dp_last_error() == DP_ERROR_INVALID_ARGUMENT, "release with no queue: %s", dp_result_string(dp_last_error()));
}

DP_TEST(ring_bad_arguments)
{
    static const ring_bad_hooks hooks = {null_queue_begun, null_queue_held};
    case_ring_bad_arguments(&dpt_d3d12, &hooks);
}
