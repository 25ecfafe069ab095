//! The inner loops of the blocked GEMM on one rectangle of C against one depth block of B: A
//! packed in `mc`-row blocks, the `jr` and `ir` loops over B's and A's micro-panels, and the tiles
//! at C's right edge, staged through a scratch tile.

use super::Problem;
use crate::gemm::pack::{with_buffer, Buffer};
use crate::gemm::params::MAX_TILE;
use crate::gemm::tile::{MicroKernel, TileOut};

/// Where [`rect`] finds its B micro-panels.
#[derive(Clone, Copy)]
pub(super) enum BPanels {
    /// Packed beforehand: the first panel of the columns at hand.
    Packed(*const f32),
    /// Read where op(B) is stored (its rows contiguous), but for a last panel narrower than NR,
    /// which is packed into `edge` (NR·kb floats).
    Direct { edge: *mut f32 },
}

/// One depth block `[pc, pc + kb)` of B: where its micro-panels are, and what C is scaled by
/// (`beta`: β on the first depth block, 1 after).
pub(super) struct Block {
    pub pc: usize,
    pub kb: usize,
    pub beta: f32,
    pub b: BPanels,
}

/// The `ic`, `jr` and `ir` loops on the rectangle `[m0, m0+mt) × [n0, n0+nt)` of C against one
/// depth block of B (whose panels, when packed, start at column `n0`), packing A in `mc`-row
/// blocks.
///
/// # Safety
/// As [`gemm`](super::gemm); the rectangle lies inside C and no other thread touches it; packed
/// panels hold columns `n0 .. n0+nt` at depths `blk.pc ..` and nothing writes them; a direct B has
/// contiguous rows (`cs == 1`) and its edge buffer NR·kb floats that nothing else uses.
pub(super) unsafe fn rect<K: MicroKernel<MR, NR>, const MR: usize, const NR: usize>(
    p: &Problem,
    blk: &Block,
    m0: usize,
    mt: usize,
    n0: usize,
    nt: usize,
    mc: usize,
) {
    let Block { pc, kb, beta, b } = *blk;
    let ldc = p.c.ldc;
    // The staging tile for column edges; zeroed once, so the kernel only ever reads floats.
    let mut scratch = [0.0f32; MAX_TILE];
    let scratch = scratch.as_mut_ptr();
    with_buffer(Buffer::A, mc * kb, |a_pack| {
        // SAFETY: the A buffer holds mc·kb floats (mc a multiple of MR), the sources are read at
        // (row, depth) inside the validated op(A), and C is written only inside the rectangle.
        unsafe {
            for ic in (0..mt).step_by(mc) {
                let mb = mc.min(mt - ic);
                let a = p.a.at(m0 + ic, pc);
                K::pack::<MR>(mb, kb, a.ptr, a.rs, a.cs, a_pack);
                for jr in (0..nt).step_by(NR) {
                    let cols = NR.min(nt - jr);
                    let (b_panel, ldb) = match b {
                        BPanels::Packed(panels) => (panels.add(jr * kb), NR),
                        BPanels::Direct { .. } if cols == NR => (p.b.at(pc, n0 + jr).ptr, p.b.rs),
                        BPanels::Direct { edge } => {
                            let b = p.b.at(pc, n0 + jr);
                            K::pack::<NR>(cols, kb, b.ptr, b.cs, b.rs, edge);
                            (edge.cast_const(), NR)
                        }
                    };
                    for ir in (0..mb).step_by(MR) {
                        let a_panel = a_pack.add(ir * kb);
                        let c = p.c.ptr.add((m0 + ic + ir) * ldc + n0 + jr);
                        let (alpha, rows) = (p.alpha, MR.min(mb - ir));
                        let out = TileOut {
                            c,
                            ldc,
                            rows,
                            alpha,
                            beta,
                        };
                        let tile = |out| K::tile(kb, a_panel, b_panel, ldb, out);
                        if cols == NR {
                            tile(out);
                        } else {
                            edge_tile::<MR, NR>(cols, out, scratch, tile);
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
