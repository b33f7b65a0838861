// A persistent worker pool for the kernels' parallel regions. A decode step is a few hundred
// regions of 5-40 µs each; waking parked threads for each one (GCD's concurrentPerform) costs
// about as much as the work. Here the workers spin briefly between regions, then park on a
// futex, and the caller takes part as thread 0.
//
// Start protocol (the reverted Swift pool lost starts; see docs/PERFORMANCE.md): a job is
// published as a pointer plus a generation counter that starts at 0 before any worker exists,
// and each worker's "last seen" starts at 0 too, so a worker that begins running late still sees
// the job. Chunks are claimed with fetch_add on the job's own counter, so each runs exactly once
// and a descheduled worker costs at most the chunk it holds. The caller returns only when no
// worker can still touch the job (the `active` count is zero after the job is withdrawn).
#ifndef VLM_THREAD_POOL_H
#define VLM_THREAD_POOL_H
#include <stddef.h>

typedef struct vlm_pool vlm_pool;
typedef void (*vlm_pool_fn)(void *ctx, size_t chunk);

/// A pool of `threads` threads in all: the caller and threads - 1 workers (none when 1).
/// NULL when the threads cannot be created.
vlm_pool *vlm_pool_create(int threads);

/// The same with test hooks: each worker sleeps `start_delay_us` before its first look at the
/// pool (a late starter), and spins `spin_us` before parking (0 parks at once).
vlm_pool *vlm_pool_create_tuned(int threads, unsigned start_delay_us, unsigned spin_us);

/// Stops and joins the workers. No run may be in progress.
void vlm_pool_destroy(vlm_pool *pool);

int vlm_pool_threads(const vlm_pool *pool);

/// fn(ctx, c) for every c in [0, chunks), each exactly once, spread over the pool's threads;
/// returns when all have finished, with 1. Runs serially on the caller when called from inside
/// a run (nested). Returns 0 at once, running nothing, while another thread's run holds the pool
/// (the server and `batch --jobs` call kernels from several threads): the caller then runs the
/// chunks some other way, so it never waits on another caller.
int vlm_pool_run(vlm_pool *pool, vlm_pool_fn fn, void *ctx, size_t chunks);

/// How many runs went to the workers, ran inline, and were refused as busy (tests).
void vlm_pool_counts(const vlm_pool *pool, unsigned long long *parallel, unsigned long long *inline_runs,
                     unsigned long long *busy_refusals);
#endif
