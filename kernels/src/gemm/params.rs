//! Every tuning constant of the GEMM, in one place: the register tile of each micro-kernel, the
//! cache blocking of the loops around it, and the size below which a call stays on one thread.
//!
//! The loops (BLIS order, see `blocked.rs`): `jc` over C's columns in steps of `nc` → `pc` over
//! the depth in steps of `kc` (pack a kc×nc block of B) → `ic` over C's rows in steps of `mc` (pack
//! an mc×kc block of A) → `jr` over NR-wide micro-panels of B → `ir` over MR-tall micro-panels of
//! A → one micro-kernel call: an MR×NR tile of C held in registers over kc rank-1 updates.

/// Depth steps per iteration of the micro-kernel's k loop (the rest run one by one), with one
/// prefetch of A per iteration. On Zen 3 the k loop is FMA-bound either way (12 FMAs against 8
/// loads and 4 loop instructions per step); unrolling makes room for the prefetch without a
/// prefetch per step.
pub(super) const K_UNROLL: usize = 4;
/// How many depth steps ahead the micro-kernel prefetches its A micro-panel (into L1; past the
/// end of a panel that is the next panel, which the `ir` loop reads next). Measured on 512³, one
/// thread, interleaved against the version without prefetch (best / median of 30 runs): 1.00–1.04
/// / 1.01–1.08 while the other core was busy, no loss when idle; 8, 16 and 32 were within the
/// noise of each other.
pub(super) const A_PREFETCH_DEPTHS: usize = 32;

/// Depths per run when packing lines that are contiguous at each depth (`pack.rs`): the source
/// is read a few rows at a time and each panel written in runs of this many depths. Depth by
/// depth across all panels (one store stream per panel, the panels a multiple of 4 KiB apart for
/// NR = 32 at k = 64) made packing B cost 4% of `fc576x128_bwd_weight` (m = 128, k = 64) against
/// matrixmultiply's 2%. Measured there and on `fc576x128_bwd_data`, one thread, interleaved
/// against matrixmultiply (`cargo bench --bench gemm_interleaved -- fc576x128 21`, with each value
/// of this constant; median ratio): depth by depth 0.97–0.99 / 0.97–1.00; runs of 8
/// 1.01–1.04 / 1.03–1.05; runs of 4 and 16 within noise of 8; whole panels (kb) 0.95–1.02.
pub(super) const PACK_DEPTH_RUN: usize = 8;

/// Cache blocking of the loops around one micro-kernel.
#[derive(Clone, Copy, Debug)]
pub(super) struct Blocking {
    /// Rows of C per packed A block: cuts the `ic` loop. The mc×kc packed A block is meant to
    /// stay in L2 while the `jr` loop sweeps the packed B block past it.
    pub mc: usize,
    /// Depth of one packed block: cuts the `pc` loop (the k reduction, in order). A kc×NR micro-panel
    /// of B is meant to stay in L1 while the `ir` loop runs every A micro-panel against it.
    pub kc: usize,
    /// Columns of C per packed B block: cuts the `jc` loop. The kc×nc packed B block is meant to
    /// stay in L3. Tasks split each block (see `TASKS_PER_THREAD`).
    pub nc: usize,
}

/// AVX2 + FMA register tile: 6 rows × 16 columns = 12 ymm accumulators, plus 2 ymm of B and 1
/// broadcast of A: 15 of the 16 ymm registers. Per k step: 12 FMAs against 2 loads + 6 broadcasts.
/// Measured on Zen 3: 4×24 (12 accumulators, but 3 B vectors) spills and ran at half the speed;
/// this kernel alone, on L1-resident panels, runs at 95% of a pure FMA loop.
pub(super) const AVX2_MR: usize = 6;
/// See [`AVX2_MR`].
pub(super) const AVX2_NR: usize = 16;
/// AVX2 blocking (Zen 3: 32 KiB L1d, 512 KiB L2 per core). kc·NR·4 B = 16 KiB of B in L1;
/// mc·kc·4 B = 144 KiB of A in L2; kc·nc·4 B = 4 MiB of B in L3. nc from 256 to 4096 made no
/// difference beyond the noise on 512³ and the conv shapes.
pub(super) const AVX2_BLOCKING: Blocking = Blocking {
    mc: 144,
    kc: 256,
    nc: 4096,
};

/// AVX-512F register tile: 8 rows × 32 columns = 16 zmm accumulators, plus 2 zmm of B and 1
/// broadcast of A (19 of 32 zmm). MR = 8 divides every channel count of this project's CNNs
/// (16 … 128) and its batch of 64, so no edge rows are wasted on them.
pub(super) const AVX512_MR: usize = 8;
/// See [`AVX512_MR`].
pub(super) const AVX512_NR: usize = 32;
/// AVX-512 blocking: kc·NR·4 B = 32 KiB of B per micro-panel (L1 on Zen 4 / Skylake-X), mc·kc·4 B
/// = 128 KiB of A in L2; kc·nc·4 B = 4 MiB of B in L3.
pub(super) const AVX512_BLOCKING: Blocking = Blocking {
    mc: 128,
    kc: 256,
    nc: 4096,
};

/// Portable (`wide::f32x8`) register tile: 4 rows × 8 columns = 4 f32x8 accumulators. On the
/// x86_64 baseline an f32x8 is two SSE registers, so this uses 8 + 2 + 2 of the 16 xmm registers.
pub(super) const PORTABLE_MR: usize = 4;
/// See [`PORTABLE_MR`].
pub(super) const PORTABLE_NR: usize = 8;
/// Portable blocking: kc·NR·4 B = 8 KiB of B in L1, mc·kc·4 B = 64 KiB of A in L2.
pub(super) const PORTABLE_BLOCKING: Blocking = Blocking {
    mc: 64,
    kc: 256,
    nc: 4096,
};

// The two FMA paths cut the depth identically, so every element of C goes through the same
// operations on both and their results are bit-identical (kernels/tests/gemm.rs checks it).
const _: () = assert!(AVX2_BLOCKING.kc == AVX512_BLOCKING.kc);

/// The deep-k path's register block (`dot.rs`): DOT_MR rows of A against DOT_NR rows of Bᵀ, 12
/// accumulators + 3 B vectors (A as a memory operand): 15 of 16 ymm; per 8 depths, 12 FMAs against
/// 7 loads. 4 × 3 divides this project's weight gradients exactly (c_out a multiple of 16,
/// taps = 9·c_in), where the packed path's 16-wide tiles leave 7 of 16 (9 taps) or 5 of 32
/// (27 taps) columns empty. Measured interleaved against the packed path (one thread, best of 10):
/// 16×9×6272 2.6–3.9×, 16×9×50176 2.7–3.6×, 32×27×8192 1.4×, 32×27×65536 1.2–1.7×.
pub(super) const DOT_MR: usize = 4;
/// See [`DOT_MR`].
pub(super) const DOT_NR: usize = 3;
/// Lanes of the deep-k path's partial sums: 8 (ymm) on every path, so that the AVX2 and AVX-512
/// paths sum each element in the same order.
pub(super) const DOT_LANES: usize = 8;
/// Depths per chunk of the deep-k path: a block of A rows and B's rows for one chunk stay in L2
/// while every register block runs against them. Measured (16×9 and 32×27 at k = 6272 … 65536,
/// ratio to matrixmultiply): 256 worst, 1024 better, 2048 ≈ 4096 best; unchunked 10–40% slower
/// on the deepest k (the rows no longer fit in L2 between register blocks).
pub(super) const DOT_KC: usize = 2048;
/// The deep-k path takes C at most this many columns wide. Measured at k = 8192, m = 32…64: 48
/// columns 1.14× the packed path, 64 columns 0.91×.
pub(super) const DOT_MAX_N: usize = 48;
/// The shallowest k on the deep-k path, when a third or more of the packed path's last tile
/// column would be empty (9 or 10 columns: at k = 256, 2.2× and 1.2× the packed path); twice
/// that when some of it would be (24 columns at k = 256: 0.93×; 27 columns at k = 256: 0.77×, at
/// k = 512: 1.28×); four times when none (16 or 32 columns at k = 512: 1.0× and 0.66×; 32 at
/// k = 1024: 1.0×). Below that, the lane sums of each element at the end cost more than the
/// wasted tile columns. At least DOT_LANES, so every element has partial sums.
pub(super) const DOT_MIN_K: usize = 256;
const _: () = assert!(DOT_MIN_K >= DOT_LANES);

/// C at most this many rows: the micro-kernel reads op(B) where it is stored when its rows are
/// contiguous, instead of packing it (`blocked.rs`, `strips`).
pub(super) const DIRECT_B_MAX_ROWS: usize = 32;

/// Bytes per way of the L1 data cache: 32 KiB 8-way on Zen 3 and Zen 4 (48 KiB 12-way on recent
/// Intel cores: 4 KiB as well). Rows of B a multiple of this apart share a cache set.
pub(super) const L1_WAY_BYTES: usize = 4096;

/// The largest MR·NR above: the size of the scratch tile through which edge tiles are written.
pub(super) const MAX_TILE: usize = AVX512_MR * AVX512_NR;

/// Parallel tasks per thread on each packed B block (`blocked.rs`): more than one, so that work
/// stealing evens out a thread whose core is shared with another process. Measured on 2 vCPUs
/// with the other one busy (a parallel build), interleaved, best of 8: the previous split (one
/// strip per thread) ran 2 threads 0.85–0.95× as fast as 1 on several shapes; with 4 tasks per
/// thread, 2 threads run 0.98–1.11× as fast as 1 (square512, mnist1_fwd, cifar3_fwd,
/// fc576x128_fwd) and 1.0–1.5× the previous split on the 27 benchmark shapes.
pub(super) const TASKS_PER_THREAD: usize = 4;
/// The narrowest column task: each column task repacks its rows of A (at most `mc`·kc floats), so
/// a task's columns should reuse them at least 128 / NR times (8 micro-panels on AVX2).
pub(super) const MIN_TASK_COLS: usize = 128;

/// A call with fewer multiply-adds (m·n·k) than this runs on the calling thread: below it, rayon's
/// fork-join overhead (a few µs per packed B block) is no longer small next to the work (about
/// 20 µs on one core).
pub(super) const PAR_MIN_MACS: usize = 1 << 20;
