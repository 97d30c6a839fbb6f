#ifndef FORESCALE_CPU_FEATURES_H
#define FORESCALE_CPU_FEATURES_H

/// 1 when the CPU and the operating system both support AVX-512F (the compiler's runtime
/// checks CPUID and that XCR0 enables the ZMM state), else 0.
static inline int fs_cpu_has_avx512f(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") ? 1 : 0;
#else
    return 0;
#endif
}

#endif
