// Which instruction-set path the kernels take, decided at run time from cpuid and the OS's
// XSAVE state, never from the machine that built the binary. One binary runs everywhere at the
// best path the CPU it lands on supports; `VLM_CPU_PATH=portable|avx2|avx512` caps it lower
// (tests and comparisons), and a name above what the CPU has falls back to the best there is.
#ifndef VLM_CPU_PATH_H
#define VLM_CPU_PATH_H

/// Ordered: each path needs everything the one below it needs.
enum {
    VLM_PATH_PORTABLE = 0, /* plain C and SSE2 (any x86-64, any other architecture) */
    VLM_PATH_AVX2 = 1,     /* AVX2 + FMA + F16C, OS saves YMM state */
    VLM_PATH_AVX512 = 2,   /* AVX-512 F/BW/VL/DQ + VNNI, OS saves ZMM and opmask state */
};

/// The best path this CPU and OS support.
int vlm_cpu_best_path(void);

/// The path the kernels take now: the best path, capped by `VLM_CPU_PATH` when it is set.
int vlm_cpu_path(void);

/// Caps the path for the rest of the process (tests). Returns the path now in force, which is
/// `min(path, best)`; a negative value restores the environment's choice.
int vlm_cpu_set_path(int path);

/// "portable", "avx2" or "avx512".
const char *vlm_cpu_path_name(int path);

/// Parses a path name; -1 when the name is none of them.
int vlm_cpu_path_parse(const char *name);

/// Extra capabilities beside the path, reported by `vlm bench`: AVX-512-BF16 (vdpbf16ps), and
/// AMX, whose tile state the kernel hands out only on request (arch_prctl
/// ARCH_REQ_XCOMP_PERM). 1 when present (AMX: present and permitted), 0 when absent,
/// -1 for AMX present but refused by the OS.
int vlm_cpu_has_avx512_bf16(void);
int vlm_cpu_amx_state(void);
#endif
