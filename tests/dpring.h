/*
 * dpring.h - the frame-protocol cases of test_ring.c and test_ring_d3d11.c written once,
 * over a core's table (dpcores.h): streams to consumer processes, several consumers,
 * legacy and frame-protocol sides mixed, stalled and killed consumers, killed and
 * restarted producers, resize, bad arguments.
 *
 * Every frame's pixels are tu_pattern of its frame value (frames are numbered 1, 2, ...
 * in the order they are published), so a consumer checks byte for byte that what it
 * acquired is exactly the frame the library says it is: a torn, stale or mis-slotted
 * frame fails.
 *
 * A case inits its core (skipping when there is no device) and shuts it down again.
 */
#ifndef DPRING_H
#define DPRING_H

#include "dpcores.h"

/* A stream from a producer in this process to consumer children. */
typedef struct {
    const char *what;            /* names the port */
    const dpt_api *prod, *cons;  /* the producer's core, the consumers' */
    int consumers;               /* 1..4 */
    long frames;                 /* frames to publish (dropped ones are tried again) */
    int pace_ms;                 /* sleep after each frame; 0: as fast as it goes */
    uint32_t slots;
    DP_TRANSPORT transport;      /* DP_TRANSPORT_GPU: skipped where the driver has none */
    long resize_at;              /* > 0: the producer resizes after that many frames */
} ring_plan;

/* Publishes plan->frames frames, never waiting (no begin/end call takes longer than
 * 500 ms, drops are counted by the port as the producer saw them); every consumer sees
 * whole frames in order, of the size they were published at, up to the last. */
void case_ring_stream(const ring_plan *plan);

/* A legacy producer (write, signal, value = frame) and a frame-protocol consumer child. */
void case_ring_legacy_producer_frame_consumer(const dpt_api *api);
/* A frame-protocol producer child and a legacy consumer (wait for the value, read). */
void case_ring_frame_producer_legacy_consumer(const dpt_api *api);
/* A consumer child holds one of two slots: the producer drops instead of waiting, and
 * gets the slot back once the holder is killed. */
void case_ring_stalled_and_killed_consumer(const dpt_api *api);
/* A producer child killed mid-stream: the consumer hears of it, and follows a new
 * producer under the same name on the same handle. */
void case_ring_producer_killed_then_restarted(const dpt_api *api);
/* A producer that closes its port (its process lives on): the consumer hears of it at
 * once, the name is free for a new producer, which the same consumer handle follows. */
void case_ring_producer_closed_then_restarted(const dpt_api *api);

/* A core's own misuse checks at two points of case_ring_bad_arguments: a frame begun on
 * prod while cons holds nothing and nothing was published yet; cons holding a frame. */
typedef struct {
    void (*frame_begun)(dpt_gpu *g, DP_HANDLE prod, DP_HANDLE cons);
    void (*frame_held)(dpt_gpu *g, DP_HANDLE cons);
} ring_bad_hooks;

/* The frame protocol's calls before init, with bad and closed handles, NULL outs, on the
 * wrong side, out of order, with bad sizes, during a frame; a legacy port's frames. */
void case_ring_bad_arguments(const dpt_api *api, const ring_bad_hooks *hooks);

#endif
