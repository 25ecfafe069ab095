//! The GEMM shapes both GEMM benches time (`gemm.rs`, criterion; `gemm_interleaved.rs`), and
//! the matrixmultiply call they compare against.

use regimebench_kernels::Trans;

/// One benchmarked GEMM: `op(A)` m×k, `op(B)` k×n, tightly packed.
pub struct Shape {
    pub name: String,
    pub ta: Trans,
    pub tb: Trans,
    pub m: usize,
    pub n: usize,
    pub k: usize,
}

/// A conv layer at batch 64, 3×3 kernel, same padding: input channels, output channels, output
/// height·width.
struct Conv {
    name: &'static str,
    c_in: usize,
    c_out: usize,
    hw: usize,
}

const BATCH: usize = 64;
const CONVS: [Conv; 6] = [
    Conv {
        name: "mnist1",
        c_in: 1,
        c_out: 16,
        hw: 28 * 28,
    },
    Conv {
        name: "mnist2",
        c_in: 16,
        c_out: 32,
        hw: 14 * 14,
    },
    Conv {
        name: "mnist3",
        c_in: 32,
        c_out: 64,
        hw: 7 * 7,
    },
    Conv {
        name: "cifar1",
        c_in: 3,
        c_out: 32,
        hw: 32 * 32,
    },
    Conv {
        name: "cifar2",
        c_in: 32,
        c_out: 64,
        hw: 16 * 16,
    },
    Conv {
        name: "cifar3",
        c_in: 64,
        c_out: 128,
        hw: 8 * 8,
    },
];
/// Fully-connected layers (inputs, outputs) at batch 64.
const FCS: [(usize, usize); 2] = [(576, 128), (128, 10)];

pub fn shapes() -> Vec<Shape> {
    let s = |name: String, ta, tb, m, n, k| Shape {
        name,
        ta,
        tb,
        m,
        n,
        k,
    };
    let mut out = vec![];
    for d in [256, 512, 1024] {
        out.push(s(format!("square{d}"), Trans::N, Trans::N, d, d, d));
    }
    for c in &CONVS {
        let (taps, pixels) = (c.c_in * 9, BATCH * c.hw);
        // y = w · col;  dcol = wᵀ · dy;  dw = dy · colᵀ.
        out.push(s(
            format!("{}_fwd", c.name),
            Trans::N,
            Trans::N,
            c.c_out,
            pixels,
            taps,
        ));
        out.push(s(
            format!("{}_bwd_data", c.name),
            Trans::T,
            Trans::N,
            taps,
            pixels,
            c.c_out,
        ));
        out.push(s(
            format!("{}_bwd_weight", c.name),
            Trans::N,
            Trans::T,
            c.c_out,
            taps,
            pixels,
        ));
    }
    for (d, o) in FCS {
        // y = x · wᵀ;  dw = dyᵀ · x;  dx = dy · w.
        out.push(s(format!("fc{d}x{o}_fwd"), Trans::N, Trans::T, BATCH, o, d));
        out.push(s(
            format!("fc{d}x{o}_bwd_weight"),
            Trans::T,
            Trans::N,
            o,
            d,
            BATCH,
        ));
        out.push(s(
            format!("fc{d}x{o}_bwd_data"),
            Trans::N,
            Trans::N,
            BATCH,
            d,
            o,
        ));
    }
    out
}

/// Fills with a fixed pattern in [-1, 1].
pub fn filled(len: usize) -> Vec<f32> {
    (0..len)
        .map(|i| ((i * 7919) % 2001) as f32 / 1000.0 - 1.0)
        .collect()
}

/// `(lda, ldb)` of `sh` with tightly packed operands.
pub fn strides(sh: &Shape) -> (usize, usize) {
    (
        if sh.ta == Trans::N { sh.k } else { sh.m },
        if sh.tb == Trans::N { sh.n } else { sh.k },
    )
}

/// `out = op(a) · op(b)` by matrixmultiply (one thread: built without its `threading` feature).
pub fn matrixmultiply_gemm(sh: &Shape, a: &[f32], b: &[f32], out: &mut [f32]) {
    let (lda, ldb) = strides(sh);
    assert!(a.len() >= sh.m * sh.k && b.len() >= sh.k * sh.n && out.len() >= sh.m * sh.n);
    let (rsa, csa) = if sh.ta == Trans::N {
        (lda, 1)
    } else {
        (1, lda)
    };
    let (rsb, csb) = if sh.tb == Trans::N {
        (ldb, 1)
    } else {
        (1, ldb)
    };
    // SAFETY: the strides describe op(A) m×k, op(B) k×n and C m×n inside the asserted lengths.
    unsafe {
        matrixmultiply::sgemm(
            sh.m,
            sh.k,
            sh.n,
            1.0,
            a.as_ptr(),
            rsa as isize,
            csa as isize,
            b.as_ptr(),
            rsb as isize,
            csb as isize,
            0.0,
            out.as_mut_ptr(),
            sh.n as isize,
            1,
        )
    }
}
