//! `ConvGeom`: the shape of one 2-D convolution (NCHW input, OIHW weights), and its derived sizes.

/// Shape of a 2-D convolution over a batch: input `[n, c_in, h, w]`, weights `[c_out, c_in, kh, kw]`,
/// bias `[c_out]`, output `[n, c_out, out_h, out_w]`, zero padding `pad` on every side, `stride` in
/// both directions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeom {
    pub n: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub pad: usize,
}

impl ConvGeom {
    /// The protocol's convolution: 3×3, stride 1, padding 1 (output as large as the input).
    pub fn same3x3(n: usize, c_in: usize, h: usize, w: usize, c_out: usize) -> Self {
        ConvGeom {
            n,
            c_in,
            h,
            w,
            c_out,
            kh: 3,
            kw: 3,
            stride: 1,
            pad: 1,
        }
    }
    /// Output height: `(h + 2 pad − kh) / stride + 1`.
    pub fn out_h(&self) -> usize {
        (self.h + 2 * self.pad - self.kh) / self.stride + 1
    }
    /// Output width: `(w + 2 pad − kw) / stride + 1`.
    pub fn out_w(&self) -> usize {
        (self.w + 2 * self.pad - self.kw) / self.stride + 1
    }
    pub fn x_len(&self) -> usize {
        self.n * self.c_in * self.h * self.w
    }
    pub fn w_len(&self) -> usize {
        self.c_out * self.c_in * self.kh * self.kw
    }
    pub fn y_len(&self) -> usize {
        self.n * self.c_out * self.out_h() * self.out_w()
    }
    /// Pixels in one input plane: `h · w`.
    pub fn in_plane(&self) -> usize {
        self.h * self.w
    }
    /// Pixels in one output plane: `out_h · out_w`.
    pub fn out_plane(&self) -> usize {
        self.out_h() * self.out_w()
    }
    /// Taps of one output pixel, `c_in · kh · kw`: the rows of the im2col matrix and the length of
    /// one output channel's weights.
    pub fn taps(&self) -> usize {
        self.c_in * self.kh * self.kw
    }
    /// Whether the im2col matrix of an image is the image itself (1×1 kernel, stride 1, no padding).
    pub fn is_pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.stride == 1 && self.pad == 0
    }
    /// Flat index into the input read by output pixel `(i, j)` of image `n`, channel `c`, tap `(u, v)`,
    /// or `None` where the tap falls in the zero padding.
    pub fn input_index(
        &self,
        n: usize,
        c: usize,
        i: usize,
        j: usize,
        u: usize,
        v: usize,
    ) -> Option<usize> {
        let r = (i * self.stride + u).checked_sub(self.pad)?;
        let s = (j * self.stride + v).checked_sub(self.pad)?;
        (r < self.h && s < self.w).then(|| ((n * self.c_in + c) * self.h + r) * self.w + s)
    }
}
