//! Packing of A and B blocks into the contiguous, zero-padded micro-panels the micro-kernel reads.
//! Transposes are only strides here, so the one micro-kernel serves all four `Trans` combinations.

use super::params::PACK_DEPTH_RUN;
use std::cell::Cell;

/// A read-only strided matrix: element (r, c) at `ptr + r·rs + c·cs`.
#[derive(Clone, Copy)]
pub(super) struct Strided {
    pub ptr: *const f32,
    pub rs: usize,
    pub cs: usize,
}

// SAFETY: `Strided` only reads through its pointer, and `sgemm_with` keeps the borrowed slice
// alive and unmodified for the whole call, so sharing it between rayon tasks is sound.
unsafe impl Send for Strided {}
// SAFETY: as for `Send`.
unsafe impl Sync for Strided {}

impl Strided {
    /// The same matrix starting at (r, c).
    ///
    /// # Safety
    /// (r, c) lies inside the matrix the pointer was derived from.
    pub unsafe fn at(self, r: usize, c: usize) -> Strided {
        // SAFETY: the caller keeps the offset inside the allocation.
        let ptr = unsafe { self.ptr.add(r * self.rs + c * self.cs) };
        Strided { ptr, ..self }
    }
}

/// Packs `len` lines of depth `kb` into micro-panels of `W` lines: panel q holds, for each
/// p in 0..kb, the W values of lines qW..qW+W at depth p, contiguously (`W·kb` floats per panel).
/// Line `l` at depth `p` is read from `src + l·ws + p·ks` where (`ws`, `ks`) are the strides
/// along the lines and along the depth. Lines past `len` in the last panel are zero.
///
/// For A, lines are rows (W = MR); for B, lines are columns (W = NR). `#[inline(always)]` so that
/// each ISA's `MicroKernel::pack` compiles it with that ISA's features.
///
/// # Safety
/// `src` is valid at every (l, p) in `len × kb`; `dst` is valid for writing
/// `len.div_ceil(W) · W · kb` floats and does not overlap `src`.
#[inline(always)]
pub(super) unsafe fn pack<const W: usize>(
    len: usize,
    kb: usize,
    src: *const f32,
    ws: usize,
    ks: usize,
    dst: *mut f32,
) {
    // SAFETY: every read is at l·ws + p·ks with l < len, p < kb, and every write is below
    // len.div_ceil(W)·W·kb, as the caller guarantees.
    unsafe {
        let panel = |q: usize| dst.add(q * W * kb).cast::<[f32; W]>();
        let full = len / W;
        if ws == 1 {
            // The lines are contiguous at each depth (A transposed, or B as stored): take
            // PACK_DEPTH_RUN depths at a time, and deal their W-wide pieces out to the panels
            // panel by panel, so that each panel is written in runs of that many depths (see
            // `params.rs`).
            for p0 in (0..kb).step_by(PACK_DEPTH_RUN) {
                let run = PACK_DEPTH_RUN.min(kb - p0);
                for q in 0..full {
                    for p in p0..p0 + run {
                        let piece = src.add(p * ks + q * W).cast::<[f32; W]>().read_unaligned();
                        panel(q).add(p).write_unaligned(piece);
                    }
                }
            }
        } else {
            // Each line is contiguous along the depth (A as stored, B transposed): gather the W
            // values at each depth from W lines, panel by panel (W streams).
            for q in 0..full {
                let s = src.add(q * W * ws);
                for p in 0..kb {
                    let (sp, dp) = (s.add(p * ks), panel(q).add(p).cast::<f32>());
                    for l in 0..W {
                        *dp.add(l) = *sp.add(l * ws);
                    }
                }
            }
        }
        let lines = len - full * W;
        if lines > 0 {
            // The last, partial panel: zero-pad the missing lines.
            let s = src.add(full * W * ws);
            for p in 0..kb {
                let (sp, dp) = (s.add(p * ks), panel(full).add(p).cast::<f32>());
                for l in 0..W {
                    *dp.add(l) = if l < lines { *sp.add(l * ws) } else { 0.0 };
                }
            }
        }
    }
}

/// 64 bytes, 64-byte aligned: the unit of the packing buffers, so that packed panels start on a
/// cache line.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([f32; 16]);

/// Which of this thread's two packing buffers [`with_buffer`] lends.
#[derive(Clone, Copy)]
pub(super) enum Buffer {
    /// Packed A blocks (and the deep-k path's partial sums): one per thread at work.
    A,
    /// Packed B blocks: one per call, shared by the threads that work on it.
    B,
}

thread_local! {
    /// This thread's packing buffers, taken out while in use: see [`with_buffer`].
    static A_BUFFER: Cell<Vec<Line>> = const { Cell::new(Vec::new()) };
    /// See [`A_BUFFER`].
    static B_BUFFER: Cell<Vec<Line>> = const { Cell::new(Vec::new()) };
}

/// Runs `f` on a 64-byte-aligned buffer of at least `len` floats (contents unspecified) that this
/// thread keeps for its next call, so that large GEMMs do not allocate and page-fault a fresh
/// packed block on every call. Taken out of the thread-local while `f` runs, so a re-entrant call
/// for the same buffer on the same thread (a rayon task stolen while waiting) gets a fresh one
/// rather than alias it.
pub(super) fn with_buffer<R>(which: Buffer, len: usize, f: impl FnOnce(*mut f32) -> R) -> R {
    let key = match which {
        Buffer::A => &A_BUFFER,
        Buffer::B => &B_BUFFER,
    };
    let mut buf = key.take();
    let lines = len.div_ceil(16);
    if buf.len() < lines {
        buf.resize(lines, Line([0.0; 16]));
    }
    let r = f(buf.as_mut_ptr().cast());
    key.set(buf);
    r
}
