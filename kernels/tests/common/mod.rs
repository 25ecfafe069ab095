//! A tiny deterministic generator shared by the kernel tests, the kernels' unit tests and the conv
//! benchmark (included by `#[path]` there; no dependency, same stream everywhere).
#![allow(dead_code)] // each test binary uses its own part of this module

/// A 64-bit linear congruential stream (Knuth's MMIX constants), seeded by a scrambled seed.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Lcg(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0
    }
    /// Uniform in [0, 1), 24 bits.
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// `len` values uniform in [-1, 1) from the stream seeded by `seed`.
pub fn signed_values(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = Lcg::new(seed);
    (0..len).map(|_| rng.unit() * 2.0 - 1.0).collect()
}

/// Runs `f` on a rayon pool of `threads` threads (the bit-identity tests compare thread counts).
pub fn in_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool")
        .install(f)
}

/// The bit patterns of `v`, so that NaNs and signed zeros compare exactly.
pub fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}
