//! Splitting a row into its even and odd columns, the inner step of the Winograd transforms'
//! `split`: portable, and in AVX2 8 (or 4) pairs per step, the row's last step moved back to end
//! at its end (the columns it shares with the step before get the same values twice).

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
    const EVEN: i32 = 0b10_00_10_00;
    const ODD: i32 = 0b11_01_11_01;
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

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    #[test]
    fn avx2_matches_portable_on_every_length() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            return;
        }
        let row: Vec<f32> = (0..90).map(|i| i as f32 * 0.5 - 7.0).collect();
        for n in 0..=40 {
            let (mut e, mut o) = (vec![f32::NAN; n], vec![f32::NAN; n]);
            // SAFETY: checked above.
            unsafe { super::avx2(&row[..2 * n + n % 2], &mut e, &mut o) };
            let (mut we, mut wo) = (vec![0.0; n], vec![0.0; n]);
            super::portable(&row, &mut we, &mut wo);
            assert_eq!((e, o), (we, wo), "{n} pairs");
        }
    }
}
