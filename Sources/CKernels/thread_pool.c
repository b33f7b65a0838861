/* thread_pool.h. Memory orders: the publication of a job (job pointer, then generation) and the
   workers' `active` entry are sequentially consistent, which is what makes the withdrawal safe:
   either the caller sees a worker's `active` increment and waits for it, or that worker sees the
   withdrawn (NULL or newer) job pointer. */
#define _GNU_SOURCE
#include "thread_pool.h"
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

typedef struct {
    vlm_pool_fn fn;
    void *ctx;
    size_t chunks;
    _Alignas(64) atomic_size_t next; /* the next unclaimed chunk */
} job;

struct vlm_pool {
    _Alignas(64) atomic_uint generation; /* bumped per published job; also the futex word */
    _Alignas(64) _Atomic(job *) current;  /* the job workers may join, or NULL */
    _Alignas(64) atomic_int active;       /* workers between joining and leaving a job */
    _Alignas(64) atomic_int sleepers;     /* workers parked (or about to park) on the futex */
    atomic_int busy;                      /* a caller holds the pool */
    atomic_int stop;
    atomic_ullong parallel_runs, inline_runs, busy_refusals;
    int threads;
    unsigned start_delay_us, spin_us;
    pthread_t *workers;
};

static _Thread_local int inside_pool; /* set on workers, and on a caller during its run */

static void futex_wait(atomic_uint *word, unsigned expected) {
#if defined(__linux__)
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
#else
    (void)word; (void)expected; sched_yield();
#endif
}

static void futex_wake_all(atomic_uint *word) {
#if defined(__linux__)
    syscall(SYS_futex, (unsigned *)word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#else
    (void)word;
#endif
}

static unsigned long long now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (unsigned long long)t.tv_sec * 1000000ull + (unsigned long long)t.tv_nsec / 1000;
}

/* Claims and runs chunks of `j` until none is left. */
static void work_on(job *j) {
    for (;;) {
        size_t c = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
        if (c >= j->chunks) return;
        j->fn(j->ctx, c);
    }
}

/* Spins up to spin_us for the generation to move past `seen`, then parks on the futex. */
static unsigned wait_for_job(vlm_pool *pool, unsigned seen) {
    unsigned long long deadline = 0;
    for (unsigned spins = 0;; spins++) {
        unsigned g = atomic_load_explicit(&pool->generation, memory_order_seq_cst);
        if (g != seen) return g;
        if ((spins & 1023) == 1023 || pool->spin_us == 0) {
            unsigned long long t = now_us();
            if (deadline == 0) deadline = t + pool->spin_us;
            if (t >= deadline) {
                atomic_fetch_add_explicit(&pool->sleepers, 1, memory_order_seq_cst);
                if (atomic_load_explicit(&pool->generation, memory_order_seq_cst) == seen)
                    futex_wait(&pool->generation, seen);
                atomic_fetch_sub_explicit(&pool->sleepers, 1, memory_order_seq_cst);
                deadline = 0;
                continue;
            }
        }
        CPU_RELAX();
    }
}

static void *worker_main(void *arg) {
    vlm_pool *pool = arg;
    inside_pool = 1;
    if (pool->start_delay_us) usleep(pool->start_delay_us);
    unsigned seen = 0; /* the generation at creation: a job published before we ran is still new */
    for (;;) {
        seen = wait_for_job(pool, seen);
        if (atomic_load_explicit(&pool->stop, memory_order_acquire)) return NULL;
        atomic_fetch_add_explicit(&pool->active, 1, memory_order_seq_cst);
        job *j = atomic_load_explicit(&pool->current, memory_order_seq_cst);
        if (j) work_on(j);
        atomic_fetch_sub_explicit(&pool->active, 1, memory_order_release);
    }
}

vlm_pool *vlm_pool_create_tuned(int threads, unsigned start_delay_us, unsigned spin_us) {
    if (threads < 1) threads = 1;
    vlm_pool *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pool->threads = threads;
    pool->start_delay_us = start_delay_us;
    pool->spin_us = spin_us;
    atomic_init(&pool->generation, 0);
    atomic_init(&pool->current, NULL);
    if (threads > 1) {
        pool->workers = calloc((size_t)threads - 1, sizeof(pthread_t));
        if (!pool->workers) { free(pool); return NULL; }
        for (int i = 0; i < threads - 1; i++) {
            if (pthread_create(&pool->workers[i], NULL, worker_main, pool) != 0) {
                pool->threads = i + 1; /* keep the ones that started */
                break;
            }
        }
    }
    return pool;
}

vlm_pool *vlm_pool_create(int threads) { return vlm_pool_create_tuned(threads, 0, 2000); }

void vlm_pool_destroy(vlm_pool *pool) {
    if (!pool) return;
    atomic_store_explicit(&pool->stop, 1, memory_order_release);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_seq_cst);
    futex_wake_all(&pool->generation);
    for (int i = 0; i < pool->threads - 1; i++) pthread_join(pool->workers[i], NULL);
    free(pool->workers);
    free(pool);
}

int vlm_pool_threads(const vlm_pool *pool) { return pool ? pool->threads : 1; }

int vlm_pool_run(vlm_pool *pool, vlm_pool_fn fn, void *ctx, size_t chunks) {
    if (chunks == 0) return 1;
    if (!pool || pool->threads == 1 || chunks == 1 || inside_pool) {
        if (pool) atomic_fetch_add_explicit(&pool->inline_runs, 1, memory_order_relaxed);
        for (size_t c = 0; c < chunks; c++) fn(ctx, c);
        return 1;
    }
    if (atomic_exchange_explicit(&pool->busy, 1, memory_order_acquire)) {
        atomic_fetch_add_explicit(&pool->busy_refusals, 1, memory_order_relaxed);
        return 0;
    }
    inside_pool = 1;
    job j = { fn, ctx, chunks, 0 };
    atomic_store_explicit(&pool->current, &j, memory_order_seq_cst);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&pool->sleepers, memory_order_seq_cst) > 0) futex_wake_all(&pool->generation);
    work_on(&j);
    /* Every chunk is claimed. Withdraw the job, then wait for the workers that joined it: they
       hold the last chunks, and none can join after the withdrawal. */
    atomic_store_explicit(&pool->current, NULL, memory_order_seq_cst);
    while (atomic_load_explicit(&pool->active, memory_order_seq_cst) != 0) CPU_RELAX();
    atomic_thread_fence(memory_order_acquire);
    atomic_fetch_add_explicit(&pool->parallel_runs, 1, memory_order_relaxed);
    inside_pool = 0;
    atomic_store_explicit(&pool->busy, 0, memory_order_release);
    return 1;
}

void vlm_pool_counts(const vlm_pool *pool, unsigned long long *parallel, unsigned long long *inline_runs,
                     unsigned long long *busy_refusals) {
    *parallel = atomic_load(&pool->parallel_runs);
    *inline_runs = atomic_load(&pool->inline_runs);
    *busy_refusals = atomic_load(&pool->busy_refusals);
}
