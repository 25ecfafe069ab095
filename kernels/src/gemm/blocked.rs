//! The five BLIS loops around a micro-kernel, and the split of C into independent rectangles for
//! rayon. Every task runs the whole k reduction of its rectangle in one fixed order, so the result
//! is bit-identical for any thread count.

use super::pack::{with_buffers, Strided};
use super::params::{MAX_TILE, PAR_MIN_MACS};
use super::tile::{MicroKernel, TileOut};
use rayon::prelude::*;

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

/// Runs `p` with micro-kernel `K`, split over the current rayon pool when large enough.
///
/// # Safety
/// The CPU supports `K`'s instruction set; `p` was validated by `sgemm_with` (every strided
/// element in range, C rows disjoint), and `p.k > 0`.
pub(super) unsafe fn gemm<K: MicroKernel<MR, NR>, const MR: usize, const NR: usize>(p: &Problem) {
    let nc = K::BLOCKING.nc;
    let (rows, cols) = partition::<MR, NR>(p, nc, rayon::current_num_threads());
    let (pm, pn) = (p.m.div_ceil(rows), p.n.div_ceil(cols));
    let task = |t: usize| {
        let (m0, n0) = (t / pn * rows, t % pn * cols);
        // SAFETY: the rectangles [m0, m0+rows) × [n0, n0+cols) of distinct tasks are disjoint
        // and inside C; the rest is the caller's contract.
        unsafe { block::<K, MR, NR>(p, m0, rows.min(p.m - m0), n0, cols.min(p.n - n0)) }
    };
    if pm * pn == 1 {
        task(0)
    } else {
        (0..pm * pn).into_par_iter().for_each(task)
    }
}

/// Rows and columns of C per parallel task: whole C below [`PAR_MIN_MACS`] or on one thread,
/// else strips along the longer side. A column strip repacks all of A (m·k) and a row strip all
/// of B (n·k), so cutting the longer side duplicates the smaller packing. Column strips are at
/// most `nc` wide, since the `jc` loop repacks A per nc block anyway: wide C gets many tasks for
/// free, which rayon balances.
fn partition<const MR: usize, const NR: usize>(
    p: &Problem,
    nc: usize,
    threads: usize,
) -> (usize, usize) {
    if threads <= 1 || p.m.saturating_mul(p.n).saturating_mul(p.k) < PAR_MIN_MACS {
        return (p.m, p.n);
    }
    let cols = p.n.div_ceil(threads).next_multiple_of(NR).min(nc);
    let rows = p.m.div_ceil(threads).next_multiple_of(MR);
    match (p.n >= p.m, cols < p.n, rows < p.m) {
        (true, true, _) | (false, true, false) => (p.m, cols),
        (_, _, true) => (rows, p.n),
        _ => (p.m, p.n),
    }
}

/// The serial BLIS loops on the rectangle `[m0, m0+mt) × [n0, n0+nt)` of C.
///
/// # Safety
/// As [`gemm`], and the rectangle lies inside C and no other thread touches it.
unsafe fn block<K: MicroKernel<MR, NR>, const MR: usize, const NR: usize>(
    p: &Problem,
    m0: usize,
    mt: usize,
    n0: usize,
    nt: usize,
) {
    // Depth blocks of (nearly) equal size: a function of k alone, so the reduction order of every
    // element of C is the same for every split of C.
    let kc = p.k.div_ceil(p.k.div_ceil(K::BLOCKING.kc));
    // Whole micro-panels per block, so the packed buffers hold exactly mc·kc and nc·kc floats.
    const { assert!(K::BLOCKING.mc % MR == 0 && K::BLOCKING.nc % NR == 0) };
    let mc = K::BLOCKING.mc.min(mt.next_multiple_of(MR));
    let nc = K::BLOCKING.nc.min(nt.next_multiple_of(NR));
    let ldc = p.c.ldc;
    // The staging tile for column edges; zeroed once, so the kernel only ever reads floats.
    let mut scratch = [0.0f32; MAX_TILE];
    let scratch = scratch.as_mut_ptr();
    with_buffers(mc * kc, nc * kc, |a_pack, b_pack| {
        // SAFETY: the packed buffers hold mc·kc and nc·kc floats (mc, nc multiples of MR, NR), the
        // sources are read at (row, depth) inside the validated op(A), op(B), and C is written
        // only inside this task's rectangle.
        unsafe {
            for jc in (0..nt).step_by(nc) {
                let nb = nc.min(nt - jc);
                for pc in (0..p.k).step_by(kc) {
                    let kb = kc.min(p.k - pc);
                    let b = p.b.at(pc, n0 + jc);
                    K::pack::<NR>(nb, kb, b.ptr, b.cs, b.rs, b_pack);
                    let beta = if pc == 0 { p.beta } else { 1.0 };
                    for ic in (0..mt).step_by(mc) {
                        let mb = mc.min(mt - ic);
                        let a = p.a.at(m0 + ic, pc);
                        K::pack::<MR>(mb, kb, a.ptr, a.rs, a.cs, a_pack);
                        for jr in (0..nb).step_by(NR) {
                            let b_panel = b_pack.add(jr * kb);
                            for ir in (0..mb).step_by(MR) {
                                let a_panel = a_pack.add(ir * kb);
                                let c = p.c.ptr.add((m0 + ic + ir) * ldc + n0 + jc + jr);
                                let (alpha, rows) = (p.alpha, MR.min(mb - ir));
                                let out = TileOut {
                                    c,
                                    ldc,
                                    rows,
                                    alpha,
                                    beta,
                                };
                                let cols = NR.min(nb - jr);
                                let tile = |out| K::tile(kb, a_panel, b_panel, out);
                                if cols == NR {
                                    tile(out);
                                } else {
                                    edge_tile::<MR, NR>(cols, out, scratch, tile);
                                }
                            }
                        }
                    }
                }
            }
        }
    })
}

/// A tile at the right edge of C (`cols` < NR): `tile`, the micro-kernel call for this position,
/// runs on `scratch` (an MR×NR tile, row stride NR), so edge elements get exactly the arithmetic
/// of interior ones; C is read (when `β ≠ 0`) and written only in its `out.rows`×`cols` part.
///
/// # Safety
/// `out` is valid for `out.rows` rows of `cols` floats; `scratch` for MR·NR floats;
/// `tile` is safe to call on any `TileOut` of up to MR rows of NR floats.
unsafe fn edge_tile<const MR: usize, const NR: usize>(
    cols: usize,
    out: TileOut,
    scratch: *mut f32,
    tile: impl FnOnce(TileOut),
) {
    const { assert!(MR * NR <= MAX_TILE) };
    let TileOut { c, ldc, rows, .. } = out;
    // SAFETY: `scratch` holds MR rows of NR floats; C is accessed only in its rows × cols part.
    unsafe {
        if out.beta != 0.0 {
            for i in 0..rows {
                std::ptr::copy_nonoverlapping(c.add(i * ldc), scratch.add(i * NR), cols);
            }
        }
        tile(TileOut {
            c: scratch,
            ldc: NR,
            ..out
        });
        for i in 0..rows {
            std::ptr::copy_nonoverlapping(scratch.add(i * NR), c.add(i * ldc), cols);
        }
    }
}
