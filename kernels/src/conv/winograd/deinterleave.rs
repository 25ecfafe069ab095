//! Splitting a row into its even and odd columns, the inner step of the Winograd transforms'
//! `split`: portable, and in AVX2 8 (or 4) pairs per step, the row's last step moved back to end
//! at its end (the columns it shares with the step before get the same values twice); rows of at
//! most 8 floats in one 4-pair step that reads past the row's end and zeroes the lanes past it
//! ([`avx2_short`]).

/// `shufps` selectors: the even and the odd elements of two 4-float groups.
#[cfg(target_arch = "x86_64")]
const EVEN: i32 = 0b10_00_10_00;
#[cfg(target_arch = "x86_64")]
const ODD: i32 = 0b11_01_11_01;

/// `even[l] = row[2l]`, `odd[l] = row[2l + 1]` for `l < even.len()` (`odd.len() == even.len()`,
/// `row.len() ≥ 2 · even.len()`).
#[inline(always)]
pub(super) fn portable(row: &[f32], even: &mut [f32], odd: &mut [f32]) {
    for (l, (e, o)) in even.iter_mut().zip(odd).enumerate() {
        (*e, *o) = (row[2 * l], row[2 * l + 1]);
    }
}

/// [`portable`] in AVX2 shuffles.
///
/// # Safety
/// The CPU supports AVX2.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn avx2(row: &[f32], even: &mut [f32], odd: &mut [f32]) {
    use crate::steps::overlapping_steps;
    use std::arch::x86_64::*;
    // `shufps` on two 8-float vectors leaves the pairs in the order 0 1 4 5 | 2 3 6 7.
    const IN_ORDER: i32 = 0b11_01_10_00;
    let n = even.len();
    assert!(odd.len() == n && row.len() >= 2 * n);
    if n >= 8 {
        for j in overlapping_steps(n, 8) {
            let src = &row[2 * j..][..16];
            // SAFETY: `src` holds 16 floats, `even[j..]` and `odd[j..]` 8 each (j + 8 ≤ n).
            unsafe {
                let (a, b) = (
                    _mm256_loadu_ps(src.as_ptr()),
                    _mm256_loadu_ps(src[8..].as_ptr()),
                );
                let e = _mm256_castps_pd(_mm256_shuffle_ps::<EVEN>(a, b));
                let o = _mm256_castps_pd(_mm256_shuffle_ps::<ODD>(a, b));
                let e = _mm256_castpd_ps(_mm256_permute4x64_pd::<IN_ORDER>(e));
                let o = _mm256_castpd_ps(_mm256_permute4x64_pd::<IN_ORDER>(o));
                _mm256_storeu_ps(even[j..][..8].as_mut_ptr(), e);
                _mm256_storeu_ps(odd[j..][..8].as_mut_ptr(), o);
            }
        }
    } else if n >= 4 {
        for j in overlapping_steps(n, 4) {
            let src = &row[2 * j..][..8];
            // SAFETY: `src` holds 8 floats, `even[j..]` and `odd[j..]` 4 each (j + 4 ≤ n).
            unsafe {
                let (a, b) = (_mm_loadu_ps(src.as_ptr()), _mm_loadu_ps(src[4..].as_ptr()));
                _mm_storeu_ps(even[j..][..4].as_mut_ptr(), _mm_shuffle_ps::<EVEN>(a, b));
                _mm_storeu_ps(odd[j..][..4].as_mut_ptr(), _mm_shuffle_ps::<ODD>(a, b));
            }
        }
    } else {
        portable(row, even, odd)
    }
}

/// [`portable`] in AVX-512 two-source permutes, 16 pairs per step, for rows of at least 32
/// floats (`even.len() ≥ 16`); the last step moved back as in [`avx2`].
///
/// # Safety
/// The CPU supports AVX-512F.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn avx512(row: &[f32], even: &mut [f32], odd: &mut [f32]) {
    use crate::steps::overlapping_steps;
    use std::arch::x86_64::*;
    let n = even.len();
    assert!(odd.len() == n && row.len() >= 2 * n && n >= 16);
    // Lane l of the result takes element 2l (or 2l + 1) of the 32 floats of `a` then `b`.
    let (pick_even, pick_odd) = (
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30),
        _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31),
    );
    for j in overlapping_steps(n, 16) {
        let src = &row[2 * j..][..32];
        // SAFETY: `src` holds 32 floats, `even[j..]` and `odd[j..]` 16 each (j + 16 ≤ n).
        unsafe {
            let (a, b) = (
                _mm512_loadu_ps(src.as_ptr()),
                _mm512_loadu_ps(src[16..].as_ptr()),
            );
            let e = _mm512_permutex2var_ps(a, pick_even, b);
            let o = _mm512_permutex2var_ps(a, pick_odd, b);
            _mm512_storeu_ps(even[j..][..16].as_mut_ptr(), e);
            _mm512_storeu_ps(odd[j..][..16].as_mut_ptr(), o);
        }
    }
}

/// A row of at most 8 floats in one step of 4 pairs: `even[l] = row[2l]` for `l < n_even`,
/// `odd[l] = row[2l + 1]` for `l < n_odd`, zeros in the rest of the 4 floats stored at each.
/// Reads 8 floats from `src`, past the row's end. (Measured on 14-wide rows, one 8-pair step
/// was slower than [`avx2`]'s two overlapping 4-pair steps.)
///
/// # Safety
/// The CPU supports AVX2; `src` is valid for reading 8 floats, `even` and `odd` for writing 4
/// floats each; `n_even`, `n_odd` ≤ 4.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn avx2_short(
    src: *const f32,
    (n_even, n_odd): (usize, usize),
    even: *mut f32,
    odd: *mut f32,
) {
    use std::arch::x86_64::*;
    /// `LIVE[4 − n ..][..4]` is all ones in its first `n` lanes, zero after.
    const LIVE: [i32; 8] = [-1, -1, -1, -1, 0, 0, 0, 0];
    assert!(n_even <= 4 && n_odd <= 4);
    let live = |n: usize| LIVE[4 - n..].as_ptr().cast();
    // SAFETY: the caller's contract; `live(n)` reads 4 of LIVE's 8 ints (4 − n + 4 ≤ 8).
    unsafe {
        let (a, b) = (_mm_loadu_ps(src), _mm_loadu_ps(src.add(4)));
        let e = _mm_and_ps(_mm_shuffle_ps::<EVEN>(a, b), _mm_loadu_ps(live(n_even)));
        let o = _mm_and_ps(_mm_shuffle_ps::<ODD>(a, b), _mm_loadu_ps(live(n_odd)));
        _mm_storeu_ps(even, e);
        _mm_storeu_ps(odd, o);
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    /// A row's split into its even and odd columns, as [`portable`](super::portable).
    type Split = unsafe fn(&[f32], &mut [f32], &mut [f32]);

    /// [`avx2`](super::avx2) on every length up to 70 pairs, [`avx512`](super::avx512) on those
    /// of at least 16, each against [`portable`](super::portable).
    #[test]
    fn avx2_and_avx512_match_portable_on_every_length() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            return;
        }
        let avx512 = crate::Isa::Avx512.is_available();
        let row: Vec<f32> = (0..150).map(|i| i as f32 * 0.5 - 7.0).collect();
        for n in 0..=70 {
            let (mut we, mut wo) = (vec![0.0; n], vec![0.0; n]);
            super::portable(&row, &mut we, &mut wo);
            let split: [(&str, Split, bool); 2] = [
                ("avx2", super::avx2, true),
                ("avx512", super::avx512, avx512 && n >= 16),
            ];
            for (name, f, _) in split.into_iter().filter(|s| s.2) {
                let (mut e, mut o) = (vec![f32::NAN; n], vec![f32::NAN; n]);
                // SAFETY: checked above.
                unsafe { f(&row[..2 * n + n % 2], &mut e, &mut o) };
                assert_eq!((&e, &o), (&we, &wo), "{name}, {n} pairs");
            }
        }
    }

    #[test]
    fn avx2_short_splits_and_zeroes_the_rest() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            return;
        }
        let row: Vec<f32> = (0..8).map(|i| i as f32 + 1.0).collect();
        for w in 0..=8usize {
            let (n_even, n_odd) = (w.div_ceil(2), w / 2);
            let (mut e, mut o) = ([f32::NAN; 5], [f32::NAN; 5]);
            let want = |n: usize, first: usize| -> Vec<f32> {
                (0..4)
                    .map(|l| if l < n { row[2 * l + first] } else { 0.0 })
                    .collect()
            };
            // SAFETY: checked above; `row` holds 8 floats, `e` and `o` 5 each.
            unsafe {
                super::avx2_short(
                    row.as_ptr(),
                    (n_even, n_odd),
                    e.as_mut_ptr(),
                    o.as_mut_ptr(),
                )
            };
            assert_eq!(
                (&e[..4], &o[..4]),
                (&want(n_even, 0)[..], &want(n_odd, 1)[..]),
                "{w} wide"
            );
            assert!(e[4].is_nan() && o[4].is_nan(), "{w} wide: 4 floats stored");
        }
    }
}
