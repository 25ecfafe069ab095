//! The buffers of a tape's last pass, kept for its next one: a training loop that reuses one
//! [`Tape`](super::Tape) allocates its activations and gradients once, instead of allocating (and
//! page-faulting, and zeroing) several megabytes per step.

/// Free `f32` buffers, handed out best-fit by capacity.
#[derive(Default)]
pub(crate) struct Pool {
    free: Vec<Vec<f32>>,
}

/// The most free buffers a pool keeps. A step of this project's networks frees about 30 (node
/// values and gradients); buffers that came from outside (each step's input) would otherwise pile
/// up, one per step.
const MAX_FREE: usize = 64;

impl Pool {
    /// A buffer of `len` floats whose contents are unspecified (values of an earlier pass): for
    /// kernels that overwrite every element.
    pub(crate) fn take(&mut self, len: usize) -> Vec<f32> {
        let best = self
            .free
            .iter()
            .enumerate()
            .filter(|(_, b)| b.capacity() >= len)
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i);
        let mut buf = best.map_or_else(|| Vec::with_capacity(len), |i| self.free.swap_remove(i));
        buf.resize(len, 0.0);
        buf
    }

    /// How many buffers are free (for tests of the tape's reuse).
    #[cfg(test)]
    pub(crate) fn free_buffers(&self) -> usize {
        self.free.len()
    }

    /// Returns a buffer for later [`take`](Self::take)s; when the pool is full, the smallest of
    /// its buffers and `buf` is dropped instead.
    pub(crate) fn give(&mut self, buf: Vec<f32>) {
        if buf.capacity() == 0 {
            return;
        }
        if self.free.len() < MAX_FREE {
            return self.free.push(buf);
        }
        let smallest = (0..self.free.len())
            .min_by_key(|&i| self.free[i].capacity())
            .filter(|&i| self.free[i].capacity() < buf.capacity());
        if let Some(i) = smallest {
            self.free[i] = buf;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Pool, MAX_FREE};

    #[test]
    fn keeps_at_most_max_free_buffers_the_largest() {
        let mut pool = Pool::default();
        for len in 1..=2 * MAX_FREE {
            pool.give(vec![0.0; len]);
        }
        assert_eq!(pool.free.len(), MAX_FREE);
        let smallest = pool.free.iter().map(Vec::capacity).min();
        assert_eq!(smallest, Some(MAX_FREE + 1));
    }

    #[test]
    fn reuses_the_smallest_buffer_that_fits() {
        let mut pool = Pool::default();
        let (small, big) = (vec![1.0; 10], vec![2.0; 100]);
        let (small_ptr, big_ptr) = (small.as_ptr(), big.as_ptr());
        pool.give(big);
        pool.give(small);
        let a = pool.take(8);
        assert_eq!((a.as_ptr(), a.len()), (small_ptr, 8));
        let b = pool.take(150);
        assert_eq!(b.len(), 150, "grown when none is large enough");
        pool.give(b);
        let c = pool.take(50);
        assert_eq!(c.as_ptr(), big_ptr);
        let d = pool.take(7);
        assert_eq!(d.len(), 7, "a fresh buffer when none is free");
    }
}
