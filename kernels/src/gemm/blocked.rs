//! The five BLIS loops around a micro-kernel, and their split over rayon: either column strips of
//! C, each task with all the rows and its own packed blocks, or, when C has too many rows for one
//! packed A block or too few columns, each packed B block packed by column tasks, then run against
//! by tasks on disjoint rectangles of C, each packing its own rows of A. Every element of C gets
//! the same depth blocks in the same order whatever the split, so the result is bit-identical for
//! any thread count.

mod rect;

use super::pack::{with_buffer, Buffer, Strided};
use super::params::{
    DIRECT_B_MAX_ROWS, L1_WAY_BYTES, MIN_TASK_COLS, PAR_MIN_MACS, TASKS_PER_THREAD,
};
use super::tile::MicroKernel;
use rayon::prelude::*;
use rect::{rect, BPanels, Block};
use std::cell::Cell;

/// The output C: element (i, j) at `ptr + i·ldc + j`.
#[derive(Clone, Copy)]
pub(super) struct Out {
    pub ptr: *mut f32,
    pub ldc: usize,
}

// SAFETY: tasks write disjoint rectangles of C (see `gemm`), and `sgemm_with` holds the unique
// borrow of C for the whole call.
unsafe impl Send for Out {}
// SAFETY: as for `Send`.
unsafe impl Sync for Out {}

/// A validated problem `C ← α op(A) op(B) + β C`, with transposes folded into strides: op(A) is
/// `a` (m×k), op(B) is `b` (k×n).
pub(super) struct Problem {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub alpha: f32,
    pub a: Strided,
    pub b: Strided,
    pub beta: f32,
    pub c: Out,
}

/// A packed B block, shared by the tasks that run against it.
#[derive(Clone, Copy)]
struct Packed(*mut f32);

// SAFETY: the block is written by disjoint packing tasks (each its own panels), and only read by
// the tasks that run after them; `gemm` keeps the buffer alive until all have joined.
unsafe impl Send for Packed {}
// SAFETY: as for `Send`.
unsafe impl Sync for Packed {}

impl Packed {
    /// The float `offset` floats into the block (a method, so that closures capture all of
    /// `Packed`, which is `Sync`, and not its pointer field).
    ///
    /// # Safety
    /// `offset` is inside the buffer.
    unsafe fn at(self, offset: usize) -> *mut f32 {
        // SAFETY: the caller keeps the offset inside the buffer.
        unsafe { self.0.add(offset) }
    }
}

/// How the work on one packed B block (`nb` columns of C) is cut into tasks: `rows` rows of C by
/// `cols` columns each (`cols` a multiple of NR).
#[derive(Clone, Copy)]
struct Split {
    rows: usize,
    cols: usize,
}

thread_local! {
    /// Set by [`serial`]: this thread's GEMMs run without a parallel split.
    static SERIAL: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with every GEMM it makes on this thread kept on this thread: for a caller that already
/// runs independent GEMMs in parallel (a convolution's image groups), where splitting each of them
/// again only adds tasks. The split never changes a result, so neither does this.
pub(crate) fn serial<R>(f: impl FnOnce() -> R) -> R {
    /// Restores the flag even if `f` panics.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            SERIAL.set(self.0);
        }
    }
    let _restore = Restore(SERIAL.replace(true));
    f()
}

/// The threads a GEMM may split over: the current rayon pool's, or 1 inside [`serial`].
pub(super) fn threads() -> usize {
    if SERIAL.get() {
        1
    } else {
        rayon::current_num_threads()
    }
}

impl Split {
    /// All of C in one task on one thread, or below [`PAR_MIN_MACS`]; else about
    /// [`TASKS_PER_THREAD`] tasks per thread, so that rayon can even out a thread that runs slower
    /// (sharing its core). When C's rows fit one packed A block (m ≤ `mc`) and its columns give
    /// every thread at least one task [`MIN_TASK_COLS`] wide, the tasks are column strips of all
    /// the rows: each packs its own columns of B (see [`strips`]), so no packed B crosses
    /// cores. Otherwise rows are cut first (in whole micro-panels, at most `mc`), since each task
    /// packs its own A rows and disjoint rows pack nothing twice; columns only when C has too few
    /// rows, at least [`MIN_TASK_COLS`] wide since each column task repacks its rows of A.
    fn new<const MR: usize, const NR: usize>(p: &Problem, nb: usize, mc: usize) -> Split {
        let threads = threads();
        if threads <= 1 || p.m.saturating_mul(p.n).saturating_mul(p.k) < PAR_MIN_MACS {
            return Split {
                rows: p.m,
                cols: nb,
            };
        }
        let tasks = threads * TASKS_PER_THREAD;
        let strips = (nb / MIN_TASK_COLS).min(tasks);
        if p.m <= mc && strips >= threads {
            return Split {
                rows: p.m,
                cols: nb.div_ceil(strips).next_multiple_of(NR),
            };
        }
        let rows = p.m.div_ceil(tasks).next_multiple_of(MR).min(mc);
        let col_tasks = tasks.div_ceil(p.m.div_ceil(rows));
        let cols = nb
            .div_ceil(col_tasks)
            .max(MIN_TASK_COLS)
            .next_multiple_of(NR)
            .min(nb.next_multiple_of(NR));
        Split { rows, cols }
    }

    /// Runs `task(r0, rows, c0, cols)` on every rectangle of the `m`×`nb` block, in parallel when
    /// there is more than one.
    fn run(self, m: usize, nb: usize, task: impl Fn(usize, usize, usize, usize) + Sync) {
        let pn = nb.div_ceil(self.cols);
        let one = |t: usize| {
            let (r0, c0) = (t / pn * self.rows, t % pn * self.cols);
            task(r0, self.rows.min(m - r0), c0, self.cols.min(nb - c0))
        };
        match m.div_ceil(self.rows) * pn {
            1 => one(0),
            tasks => (0..tasks).into_par_iter().for_each(one),
        }
    }
}

/// The depth of the blocks that cut `k` into (nearly) equal pieces of at most `kc`.
pub(super) fn depth_block(k: usize, kc: usize) -> usize {
    k.div_ceil(k.div_ceil(kc))
}

/// Runs `p` with micro-kernel `K`: the BLIS loops, split over the current rayon pool when large
/// enough (see [`Split::new`]). Each element of C gets the same depth blocks in the same
/// order whatever the split, so the result is bit-identical for any thread count.
///
/// # Safety
/// The CPU supports `K`'s instruction set; `p` was validated by `sgemm_with` (every strided
/// element in range, C rows disjoint), and `p.k > 0`.
pub(super) unsafe fn gemm<K: MicroKernel<MR, NR>, const MR: usize, const NR: usize>(p: &Problem) {
    // Depth blocks of (nearly) equal size: a function of k alone, so the reduction order of every
    // element of C is the same for every split of C.
    let kc = depth_block(p.k, K::BLOCKING.kc);
    // Whole micro-panels per block, so the packed buffers hold exactly mc·kc and nc·kc floats.
    const { assert!(K::BLOCKING.mc % MR == 0 && K::BLOCKING.nc % NR == 0) };
    let mc = K::BLOCKING.mc.min(p.m.next_multiple_of(MR));
    let nc = K::BLOCKING.nc.min(p.n.next_multiple_of(NR));
    let whole = Split::new::<MR, NR>(p, p.n, mc);
    if whole.rows >= p.m {
        // SAFETY: forwarded contract.
        return unsafe { strips::<K, MR, NR>(p, whole, (kc, mc, nc)) };
    }
    with_buffer(Buffer::B, nc * kc, |b_pack| {
        let b_pack = Packed(b_pack);
        for jc in (0..p.n).step_by(nc) {
            let nb = nc.min(p.n - jc);
            let split = Split::new::<MR, NR>(p, nb, mc);
            for pc in (0..p.k).step_by(kc) {
                let kb = kc.min(p.k - pc);
                // The B block, packed by column tasks (as wide as the compute tasks' columns, or
                // a thread's share of the block when those span it).
                let pack_split = Split {
                    rows: 1,
                    cols: split.cols.min(nb.div_ceil(threads()).next_multiple_of(NR)),
                };
                pack_split.run(1, nb, |_, _, c0, cols| {
                    // SAFETY: columns [jc + c0, + cols) of op(B) at depths [pc, + kb) are inside
                    // it; panels c0/NR .. of the block are this task's alone (c0 a multiple of NR).
                    unsafe {
                        let b = p.b.at(pc, jc + c0);
                        K::pack::<NR>(cols, kb, b.ptr, b.cs, b.rs, b_pack.at(c0 * kb));
                    }
                });
                let beta = if pc == 0 { p.beta } else { 1.0 };
                split.run(p.m, nb, |r0, rows, c0, cols| {
                    // SAFETY: the rectangles of distinct tasks are disjoint and inside C, the
                    // packed block was written before this `run`; the rest is the caller's
                    // contract.
                    unsafe {
                        let b = BPanels::Packed(b_pack.at(c0 * kb));
                        let block = Block { pc, kb, beta, b };
                        rect::<K, MR, NR>(p, &block, r0, rows, jc + c0, cols, mc)
                    }
                });
            }
        }
    })
}

/// `p` when `split` cuts C into column strips of all its rows (see [`Split::new`]): each task
/// runs the loops on its own columns alone, packing its own B blocks, so no packed block is
/// shared, and the only thing packed twice is A, once per strip. With one task, this is the
/// whole product on the calling thread.
///
/// # Safety
/// As [`gemm`], `split.rows >= p.m`, and `kc`, `mc`, `nc` the blocking of [`gemm`].
unsafe fn strips<K: MicroKernel<MR, NR>, const MR: usize, const NR: usize>(
    p: &Problem,
    split: Split,
    (kc, mc, nc): (usize, usize, usize),
) {
    let direct = direct_b(p, kc);
    split.run(p.m, p.n, |_, _, c0, cols| {
        let nc = nc.min(cols.next_multiple_of(NR));
        let len = if direct { NR * kc } else { nc * kc };
        with_buffer(Buffer::B, len, |b_pack| {
            for jc in (c0..c0 + cols).step_by(nc) {
                let nb = nc.min(c0 + cols - jc);
                for pc in (0..p.k).step_by(kc) {
                    let kb = kc.min(p.k - pc);
                    let beta = if pc == 0 { p.beta } else { 1.0 };
                    // SAFETY: columns [jc, + nb) of op(B) at depths [pc, + kb) are inside it and
                    // the buffer holds nc·kc floats (NR·kc when `direct`); the strips of distinct
                    // tasks are disjoint and inside C; the rest is the caller's contract.
                    unsafe {
                        let b = if direct {
                            BPanels::Direct { edge: b_pack }
                        } else {
                            let b = p.b.at(pc, jc);
                            K::pack::<NR>(nb, kb, b.ptr, b.cs, b.rs, b_pack);
                            BPanels::Packed(b_pack)
                        };
                        let block = Block { pc, kb, beta, b };
                        rect::<K, MR, NR>(p, &block, 0, p.m, jc, nb, mc)
                    }
                }
            }
        })
    })
}

/// Whether the micro-kernel reads op(B) where it is stored rather than packed, at depth blocks of
/// `kc`: for few rows of C, where each B panel meets too few A panels to pay for packing it, when
/// op(B)'s rows are contiguous and a panel's rows do not share L1 sets. (Only a last panel
/// narrower than NR is then packed, zero-padded.)
pub(super) fn direct_b(p: &Problem, kc: usize) -> bool {
    p.b.cs == 1 && p.m <= DIRECT_B_MAX_ROWS && rows_spread(p.b.rs, kc)
}

/// Whether `rows` rows of floats `stride` floats apart fall in distinct L1 sets: the addresses
/// of rows repeat their offset within an L1 way every `L1_WAY_BYTES / gcd(4·stride, L1_WAY_BYTES)`
/// rows. B's rows 4 KiB apart (a power-of-two width) all land in one set, and a panel's rows then
/// evict each other between the A panels that read them (measured: half the speed of packing).
fn rows_spread(stride: usize, rows: usize) -> bool {
    let (mut a, mut b) = (4 * stride % L1_WAY_BYTES, L1_WAY_BYTES);
    while a != 0 {
        (a, b) = (b % a, a);
    }
    L1_WAY_BYTES / b >= rows
}

#[cfg(test)]
mod tests {
    use super::{rows_spread, serial, threads};

    #[test]
    fn rows_spread_over_l1_sets() {
        // 4 KiB apart: every row in the same set.
        assert!(!rows_spread(1024, 2));
        assert!(
            !rows_spread(50_176, 9),
            "mnist1_fwd's B (49 · 1024 floats wide)"
        );
        // 1 KiB apart: 4 rows per way, then they repeat.
        assert!(rows_spread(256, 4) && !rows_spread(256, 5));
        // Winograd's rows (tiles + 8 floats) and odd widths spread over all 64 sets and more.
        assert!(rows_spread(302, 256) && rows_spread(63, 256));
        assert!(rows_spread(1024, 1), "one row never conflicts");
    }

    #[test]
    fn serial_scopes_one_thread_and_restores() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .expect("pool");
        pool.install(|| {
            assert_eq!(threads(), 3);
            serial(|| {
                assert_eq!(threads(), 1);
                serial(|| assert_eq!(threads(), 1));
                assert_eq!(threads(), 1, "a nested scope keeps the outer one");
            });
            assert_eq!(threads(), 3);
            let caught = std::panic::catch_unwind(|| serial(|| panic!("inside")));
            assert!(caught.is_err());
            assert_eq!(threads(), 3, "restored after a panic");
        });
    }
}
