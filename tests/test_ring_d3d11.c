/*
 * test_ring_d3d11.c - the frame protocol on the D3D11 core: the cases of dpring.h over
 * its table (dp11 producer to dp11 consumers, across the cores both ways, a legacy
 * consumer, stalled and killed consumers, killed and restarted producers, resize
 * mid-stream, bad arguments).
 */
#include "dpring.h"

#include "dptest.h"

/* A prod producer in this process, one cons consumer child, 2 ms between frames. */
static void stream(const char *what, const dpt_api *prod, const dpt_api *cons, DP_TRANSPORT transport, long frames,
                   long resize_at)
{
    ring_plan plan = {.what = what,
                      .prod = prod,
                      .cons = cons,
                      .consumers = 1,
                      .frames = frames,
                      .pace_ms = 2,
                      .slots = 3,
                      .transport = transport,
                      .resize_at = resize_at};
    case_ring_stream(&plan);
}

DP_TEST(ring_d3d11_frames)
{
    stream("frames", &dpt_d3d11, &dpt_d3d11, DP_TRANSPORT_AUTO, 100, 0);
}

DP_TEST(ring_d3d11_frames_gpu_transport)
{
    stream("gpu", &dpt_d3d11, &dpt_d3d11, DP_TRANSPORT_GPU, 100, 0);
}

DP_TEST(ring_d3d11_from_d3d12_producer)
{
    stream("from12", &dpt_d3d12, &dpt_d3d11, DP_TRANSPORT_AUTO, 100, 0);
}

DP_TEST(ring_d3d11_to_d3d12_consumer)
{
    stream("to12", &dpt_d3d11, &dpt_d3d12, DP_TRANSPORT_AUTO, 100, 0);
}

DP_TEST(ring_d3d11_resize)
{
    stream("resize", &dpt_d3d11, &dpt_d3d11, DP_TRANSPORT_AUTO, 80, 40);
}

DP_TEST(ring_d3d11_legacy_producer_frame_consumer)
{
    case_ring_legacy_producer_frame_consumer(&dpt_d3d11);
}

DP_TEST(ring_d3d11_frame_producer_legacy_consumer)
{
    case_ring_frame_producer_legacy_consumer(&dpt_d3d11);
}

DP_TEST(ring_d3d11_stalled_and_killed_consumer)
{
    case_ring_stalled_and_killed_consumer(&dpt_d3d11);
}

DP_TEST(ring_d3d11_producer_killed_then_restarted)
{
    case_ring_producer_killed_then_restarted(&dpt_d3d11);
}

DP_TEST(ring_d3d11_producer_closed_then_restarted)
{
    case_ring_producer_closed_then_restarted(&dpt_d3d11);
}

DP_TEST(ring_d3d11_bad_arguments)
{
    case_ring_bad_arguments(&dpt_d3d11, NULL);
}
