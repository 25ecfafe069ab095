//! The convolutions' per-thread scratch buffers: allocated once per thread and kept between
//! calls, so that a training step neither allocates nor page-faults them afresh (a freed
//! buffer of some 100 KB goes back to the OS, and the next one costs a page fault per 4 KiB).

use std::cell::Cell;
use std::thread::LocalKey;

thread_local! {
    /// im2col matrices and transform-domain tiles: see [`with_scratch`].
    static SCRATCH: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
    /// The weight gradient's per-chunk partial sums: see [`with_partials`].
    static PARTIALS: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
    /// A chunk's unpooled convolution output or gradient: see [`with_conv_out`].
    static CONV_OUT: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
}

/// Runs `f` on a scratch slice of `len` floats (contents unspecified) that this thread keeps for
/// its next call, so the im2col buffers are allocated once per thread rather than once per image.
pub(super) fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    lend(&SCRATCH, len, f)
}

/// [`with_scratch`] on a second buffer, for the partial weight gradients that a call gathers
/// from its chunks while each chunk's own work borrows [`with_scratch`]'s (on this thread, too,
/// when it is one of rayon's workers).
pub(super) fn with_partials<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    lend(&PARTIALS, len, f)
}

/// [`with_scratch`] on a third buffer, for a chunk's convolution output (or its gradient) in the
/// fused convolution + max-pool (`conv/pooled.rs`), which the convolution's own work surrounds.
pub(super) fn with_conv_out<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    lend(&CONV_OUT, len, f)
}

/// Lends `key`'s buffer, grown to at least `len` floats, to `f`. The buffer is taken out of the
/// thread-local while `f` runs: if `f` blocks inside rayon (a parallel `sgemm`) and this thread
/// steals another task that asks for the same buffer, that task gets a fresh one instead of
/// aliasing this one.
fn lend<R>(
    key: &'static LocalKey<Cell<Vec<f32>>>,
    len: usize,
    f: impl FnOnce(&mut [f32]) -> R,
) -> R {
    let mut buf = key.take();
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    let r = f(&mut buf[..len]);
    key.set(buf);
    r
}
