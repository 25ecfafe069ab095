/* The clock and the FP32 FMA peak of one core, for the README's peak figure (this VM exposes no
 * cycle counter). A chain of dependent integer adds runs at one add per cycle, so its rate is the
 * clock; 12 independent chains of 8-lane (ymm) FMAs give FMAs per second; their ratio is FMAs per
 * cycle. Built with AVX-512, it also times 12 chains of 16-lane (zmm) FMAs: a core with two full
 * 512-bit FMA pipes shows about twice the ymm GFLOP/s, one that splits a zmm FMA into two 256-bit
 * halves (Zen 4) the same. A measurement aid, not built by cargo:
 *
 *     cc -O3 -mavx2 -mfma benches/clock_peak.c -o /tmp/clock_peak && /tmp/clock_peak
 *     cc -O3 -mfma -mavx512f benches/clock_peak.c -o /tmp/clock_peak_zmm && /tmp/clock_peak_zmm
 */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void) {
    const long n = 400000000;
    for (int round = 0; round < 5; round++) {
        long x = round;
        double t0 = now();
        for (long i = 0; i < n / 8; i++) {
            /* eight dependent adds per iteration, so the loop's own overhead runs beside them */
            __asm__ volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
                             "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0"
                             : "+r"(x));
        }
        double ghz = n / (now() - t0) / 1e9;

        __m256 a[12], m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
        for (int k = 0; k < 12; k++) a[k] = _mm256_set1_ps((float)(k + round));
        const long f = 100000000;
        t0 = now();
        for (long i = 0; i < f; i++) {
            for (int k = 0; k < 12; k++) a[k] = _mm256_fmadd_ps(a[k], m, c);
        }
        double fmas = 12.0 * f / (now() - t0);
        float sink = 0;
        for (int k = 0; k < 12; k++) sink += _mm256_cvtss_f32(a[k]);
        printf("clock %.2f GHz, ymm %.2f FMA/cycle, %.1f GFLOP/s (x=%ld, %g)", ghz,
               fmas / (ghz * 1e9), fmas * 16 / 1e9, x, sink);
#ifdef __AVX512F__
        __m512 z[12], zm = _mm512_set1_ps(0.999999f), zc = _mm512_set1_ps(1e-7f);
        for (int k = 0; k < 12; k++) z[k] = _mm512_set1_ps((float)(k + round));
        t0 = now();
        for (long i = 0; i < f; i++) {
            for (int k = 0; k < 12; k++) z[k] = _mm512_fmadd_ps(z[k], zm, zc);
        }
        double zfmas = 12.0 * f / (now() - t0);
        for (int k = 0; k < 12; k++) sink += _mm512_reduce_add_ps(z[k]);
        printf("; zmm %.2f FMA/cycle, %.1f GFLOP/s (%g)", zfmas / (ghz * 1e9), zfmas * 32 / 1e9,
               sink);
#endif
        printf("\n");
    }
    return 0;
}
