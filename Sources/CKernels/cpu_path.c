#include "cpu_path.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

static void cpuid(unsigned leaf, unsigned sub, unsigned r[4]) {
    if (!__get_cpuid_count(leaf, sub, &r[0], &r[1], &r[2], &r[3])) r[0] = r[1] = r[2] = r[3] = 0;
}

/* XCR0: which register states the OS saves on a context switch (valid only with OSXSAVE). */
static unsigned long long xcr0(void) {
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}

typedef struct { int best; int bf16; int amx; } cpu_facts;

static cpu_facts detect(void) {
    cpu_facts f = { VLM_PATH_PORTABLE, 0, 0 };
    unsigned l1[4], l7[4], l71[4];
    cpuid(1, 0, l1);
    cpuid(7, 0, l7);
    cpuid(7, 1, l71);
    int osxsave = (l1[2] >> 27) & 1;
    unsigned long long xcr = osxsave ? xcr0() : 0;
    int os_ymm = (xcr & 0x6) == 0x6;            /* SSE + AVX state */
    int os_zmm = os_ymm && (xcr & 0xe0) == 0xe0; /* opmask, ZMM_Hi256, Hi16_ZMM */
    int fma = (l1[2] >> 12) & 1, avx = (l1[2] >> 28) & 1, f16c = (l1[2] >> 29) & 1;
    int avx2 = (l7[1] >> 5) & 1;
    int a512f = (l7[1] >> 16) & 1, a512dq = (l7[1] >> 17) & 1, a512bw = (l7[1] >> 30) & 1, a512vl = (l7[1] >> 31) & 1;
    int vnni = (l7[2] >> 11) & 1;
    if (os_ymm && avx && avx2 && fma && f16c) f.best = VLM_PATH_AVX2;
    if (f.best == VLM_PATH_AVX2 && os_zmm && a512f && a512dq && a512bw && a512vl && vnni) f.best = VLM_PATH_AVX512;
    f.bf16 = f.best == VLM_PATH_AVX512 && ((l71[0] >> 5) & 1);
    int amx_tile = (l7[3] >> 24) & 1, amx_int8 = (l7[3] >> 25) & 1, amx_bf16 = (l7[3] >> 22) & 1;
    if (amx_tile && amx_int8 && amx_bf16 && f.best == VLM_PATH_AVX512) {
#if defined(__linux__)
        /* ARCH_REQ_XCOMP_PERM (0x1023) for XFEATURE_XTILEDATA (18): without it the first tile
           instruction dies with SIGILL, as llama.cpp's AMX build does on these machines. */
        f.amx = syscall(SYS_arch_prctl, 0x1023, 18) == 0 && (xcr0() & 0x60000) == 0x60000 ? 1 : -1;
#else
        f.amx = -1;
#endif
    }
    return f;
}
#else
typedef struct { int best; int bf16; int amx; } cpu_facts;
static cpu_facts detect(void) { cpu_facts f = { VLM_PATH_PORTABLE, 0, 0 }; return f; }
#endif

static atomic_int facts_ready;      /* 0 until `facts` is filled */
static cpu_facts facts;
static atomic_int active_path = -1; /* -1: not decided yet */

static const cpu_facts *get_facts(void) {
    if (!atomic_load_explicit(&facts_ready, memory_order_acquire)) {
        cpu_facts f = detect(); /* idempotent: racing first callers compute the same value */
        facts = f;
        atomic_store_explicit(&facts_ready, 1, memory_order_release);
    }
    return &facts;
}

int vlm_cpu_best_path(void) { return get_facts()->best; }
int vlm_cpu_has_avx512_bf16(void) { return get_facts()->bf16; }
int vlm_cpu_amx_state(void) { return get_facts()->amx; }

const char *vlm_cpu_path_name(int path) {
    switch (path) {
    case VLM_PATH_AVX2: return "avx2";
    case VLM_PATH_AVX512: return "avx512";
    default: return "portable";
    }
}

int vlm_cpu_path_parse(const char *name) {
    if (!name) return -1;
    if (!strcmp(name, "portable")) return VLM_PATH_PORTABLE;
    if (!strcmp(name, "avx2")) return VLM_PATH_AVX2;
    if (!strcmp(name, "avx512")) return VLM_PATH_AVX512;
    return -1;
}

static int from_environment(void) {
    int best = vlm_cpu_best_path();
    int asked = vlm_cpu_path_parse(getenv("VLM_CPU_PATH"));
    return asked >= 0 && asked < best ? asked : best;
}

int vlm_cpu_path(void) {
    int p = atomic_load_explicit(&active_path, memory_order_relaxed);
    if (p < 0) {
        p = from_environment();
        atomic_store_explicit(&active_path, p, memory_order_relaxed);
    }
    return p;
}

int vlm_cpu_set_path(int path) {
    int best = vlm_cpu_best_path();
    int p = path < 0 ? from_environment() : (path < best ? path : best);
    atomic_store_explicit(&active_path, p, memory_order_relaxed);
    return p;
}
