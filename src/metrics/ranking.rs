//! Rankings of methods by score, and the rank flips between two rankings.

use std::cmp::Ordering::Equal;

/// Number of rank flips between two rankings of the same methods.
///
/// `a[m]` and `b[m]` are the ranks of method `m` (any order-preserving numbering, e.g. 0 = best;
/// equal ranks mean a tie). A rank flip is an unordered pair of methods `{m, m'}` that one ranking
/// puts strictly in one order and the other strictly in the opposite order; a pair tied in either
/// ranking is not a flip. This is the number of discordant pairs `n_d` of Kendall's tau, between 0
/// and `n(n-1)/2`. Panics if the lengths differ.
pub fn rank_flips(a: &[usize], b: &[usize]) -> usize {
    assert_eq!(a.len(), b.len(), "rank_flips: length mismatch");
    let n = a.len();
    let mut flips = 0;
    for i in 0..n {
        for k in i + 1..n {
            let da = a[i].cmp(&a[k]);
            let db = b[i].cmp(&b[k]);
            if da != Equal && db != Equal && da != db {
                flips += 1;
            }
        }
    }
    flips
}

/// Ranks of methods by a score where higher is better: `0` for the best, equal scores sharing the
/// best rank of their block ("competition" ranking: scores `[0.9, 0.7, 0.9, 0.5]` give
/// `[0, 2, 0, 3]`). Non-finite scores rank after every finite one. Suited to [`rank_flips`].
pub fn ranks_by_score_desc(scores: &[f64]) -> Vec<usize> {
    let key = |v: f64| if v.is_finite() { v } else { f64::NEG_INFINITY };
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| key(scores[b]).total_cmp(&key(scores[a])));
    let mut ranks = vec![0; scores.len()];
    for (pos, &m) in idx.iter().enumerate() {
        ranks[m] = if pos > 0 && key(scores[m]) == key(scores[idx[pos - 1]]) {
            ranks[idx[pos - 1]]
        } else {
            pos
        };
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_flip_counts() {
        // identical rankings: no flips; a full reversal of 4 methods flips all 6 pairs
        assert_eq!(rank_flips(&[0, 1, 2, 3], &[0, 1, 2, 3]), 0);
        assert_eq!(rank_flips(&[0, 1, 2, 3], &[3, 2, 1, 0]), 6);
        // one adjacent swap (methods 1 and 2): one flip
        assert_eq!(rank_flips(&[0, 1, 2, 3], &[0, 2, 1, 3]), 1);
        // method 0 moves from first to last: pairs (0,1), (0,2), (0,3) flip
        assert_eq!(rank_flips(&[0, 1, 2, 3], &[3, 0, 1, 2]), 3);
        // a tie in one ranking is not a flip
        // (0,1): a puts 0 first, b ties them -> no flip; (0,2) and (1,2): a puts 2 last, b first -> flips
        assert_eq!(rank_flips(&[0, 1, 2], &[1, 1, 0]), 2);
        assert_eq!(rank_flips(&[0, 1, 2], &[0, 0, 1]), 0);
        assert_eq!(rank_flips(&[], &[]), 0);
    }

    #[test]
    fn competition_ranks() {
        assert_eq!(ranks_by_score_desc(&[0.9, 0.7, 0.9, 0.5]), vec![0, 2, 0, 3]);
        assert_eq!(ranks_by_score_desc(&[0.1, f64::NAN, 0.3]), vec![1, 2, 0]);
        assert!(ranks_by_score_desc(&[]).is_empty());
        // flips between two score vectors
        let a = ranks_by_score_desc(&[0.9, 0.8, 0.7]);
        let b = ranks_by_score_desc(&[0.7, 0.8, 0.9]);
        assert_eq!(rank_flips(&a, &b), 3);
    }
}
