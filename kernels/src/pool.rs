//! 2×2 max-pooling, stride 2, floor (a 7×7 plane pools to 3×3): forward with argmax, backward.
//!
//! The forward splits over planes (each output is one window's comparison chain, so any split gives
//! the same bits). The backward writes each `dy` to one `dx` element; it splits `dx` into ranges
//! that the argmax of consecutive `dy` chunks fall into, when those ranges are disjoint and in
//! order (always, for an argmax from [`maxpool2_fwd`]), and otherwise runs in one pass.

use rayon::prelude::*;

/// Outputs per rayon task: below this a task costs more to schedule than to run.
const MIN_OUTPUTS_PER_TASK: usize = 4096;

/// Pools `planes` planes of `h×w` from `x` into `y` (`planes × h/2 × w/2`), recording in `argmax`
/// the flat index into `x` of each window's first maximum (row-major window order; a NaN is never
/// greater, so it wins only in the first position). Overwrites `y` and `argmax`.
///
/// # Panics
/// When a slice length does not match the shape, or `x` has `2^32` or more elements.
pub fn maxpool2_fwd(
    planes: usize,
    h: usize,
    w: usize,
    x: &[f32],
    y: &mut [f32],
    argmax: &mut [u32],
) {
    let out_plane = (h / 2) * (w / 2);
    assert_eq!(
        x.len(),
        planes * h * w,
        "maxpool2_fwd: x length for {planes}×{h}×{w}"
    );
    assert_eq!(y.len(), planes * out_plane, "maxpool2_fwd: y length");
    assert_eq!(argmax.len(), y.len(), "maxpool2_fwd: argmax length");
    assert!(
        u32::try_from(x.len()).is_ok(),
        "maxpool2_fwd: x too long for u32 argmax"
    );
    if out_plane == 0 {
        return;
    }
    let per_task = MIN_OUTPUTS_PER_TASK.div_ceil(out_plane);
    y.par_chunks_mut(out_plane)
        .zip(argmax.par_chunks_mut(out_plane))
        .enumerate()
        .with_min_len(per_task)
        .for_each(|(p, (y, arg))| pool_plane(&x[p * h * w..][..h * w], w, p * h * w, y, arg));
}

/// One plane `x` (rows of width `w`, flat offset `base` in the whole input) into `y` and `arg`.
fn pool_plane(x: &[f32], w: usize, base: usize, y: &mut [f32], arg: &mut [u32]) {
    let ow = w / 2;
    let rows = y.chunks_exact_mut(ow).zip(arg.chunks_exact_mut(ow));
    for (i, (y, arg)) in rows.enumerate() {
        let top = &x[2 * i * w..][..2 * ow];
        let bottom = &x[(2 * i + 1) * w..][..2 * ow];
        let row_base = (base + 2 * i * w) as u32;
        let windows = top.chunks_exact(2).zip(bottom.chunks_exact(2));
        for (j, ((y, arg), (t, b))) in y.iter_mut().zip(arg.iter_mut()).zip(windows).enumerate() {
            let (mut best, mut at) = (t[0], 0);
            for (v, off) in [(t[1], 1), (b[0], w as u32), (b[1], w as u32 + 1)] {
                if v > best {
                    (best, at) = (v, off);
                }
            }
            *y = best;
            *arg = row_base + 2 * j as u32 + at;
        }
    }
}

/// `dy` chunk length per task of [`maxpool2_bwd`].
const BWD_CHUNK: usize = 16384;

/// Routes each `dy` to the input position `argmax` names: `dx = 0`, then `dx[argmax[i]] += dy[i]`
/// in order of `i`. Overwrites `dx`.
///
/// # Panics
/// When `argmax` and `dy` differ in length or an index is out of `dx`.
pub fn maxpool2_bwd(dy: &[f32], argmax: &[u32], dx: &mut [f32]) {
    assert_eq!(
        dy.len(),
        argmax.len(),
        "maxpool2_bwd: dy and argmax lengths"
    );
    let Some(cuts) = disjoint_cuts(argmax, dx.len()) else {
        return scatter(dy, argmax, 0, dx);
    };
    let mut parts = Vec::with_capacity(cuts.len());
    let mut rest = dx;
    let mut start = 0;
    for &end in &cuts {
        let (part, tail) = rest.split_at_mut(end - start);
        parts.push((start, part));
        (rest, start) = (tail, end);
    }
    parts
        .into_par_iter()
        .zip(dy.par_chunks(BWD_CHUNK).zip(argmax.par_chunks(BWD_CHUNK)))
        .for_each(|((start, dx), (dy, arg))| scatter(dy, arg, start, dx));
}

/// Where to cut `dx` (of length `len`) so that the `k`-th part holds every index of the `k`-th
/// chunk of `argmax`: the end of each part, the last being `len`. `None` when the chunks' index
/// ranges overlap or are out of order (or there is only one chunk).
fn disjoint_cuts(argmax: &[u32], len: usize) -> Option<Vec<usize>> {
    if argmax.len() <= BWD_CHUNK {
        return None;
    }
    let ranges: Vec<(u32, u32)> = argmax
        .par_chunks(BWD_CHUNK)
        .map(|c| {
            c.iter()
                .fold((u32::MAX, 0), |(lo, hi), &i| (lo.min(i), hi.max(i)))
        })
        .collect();
    let ordered = ranges.windows(2).all(|r| r[0].1 < r[1].0);
    let fits = ranges.last().is_some_and(|r| (r.1 as usize) < len);
    let mut cuts: Vec<usize> = ranges[1..].iter().map(|r| r.0 as usize).collect();
    cuts.push(len);
    (ordered && fits).then_some(cuts)
}

/// `dx = 0`, then `dx[i − start] += dy` for each `(dy, i)`, in order.
fn scatter(dy: &[f32], argmax: &[u32], start: usize, dx: &mut [f32]) {
    dx.fill(0.0);
    for (&d, &i) in dy.iter().zip(argmax) {
        dx[i as usize - start] += d;
    }
}
