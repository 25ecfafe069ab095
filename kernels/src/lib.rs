//! regimebench-kernels: the numeric kernels of regimebench. Slices in, slices out: no tensors,
//! no tape, no configuration, no I/O.
//!
//! * [`sgemm`]: single-precision GEMM, hand-written, packed and register-blocked, with run-time
//!   dispatch to the instruction set named by [`active_isa`].
//! * [`conv2d_fwd`], [`conv2d_bwd_input`], [`conv2d_bwd_weight`]: NCHW convolution.
//! * [`maxpool2_fwd`], [`maxpool2_bwd`]: 2×2 max-pooling, stride 2, floor;
//!   [`global_avg_pool_fwd`], [`global_avg_pool_bwd`]: the mean of each plane.
//! * [`batch_norm_stats`], [`batch_norm_fwd`], [`batch_norm_bwd`] and the running update: batch
//!   normalisation over NCHW.
//! * [`relu_fwd`], [`relu_bwd`], [`add_bias_rows`], [`sum_rows`], [`add_assign`],
//!   [`softmax_xent`]: elementwise.
//! * [`reference`]: naive f64 oracles of all of the above.
//!
//! Every kernel gives bit-identical results for any rayon thread count: work is split over
//! outputs only, and every output element is reduced in one fixed order.

mod conv;
mod elementwise;
mod fma_width;
mod gemm;
mod geom;
mod isa;
mod norm;
mod pool;
pub mod reference;
mod steps;
mod sum;
/// The integration tests' value generators, for the unit tests too.
#[cfg(test)]
#[path = "../tests/common/mod.rs"]
mod test_common;
mod width;

pub use conv::{
    conv2d_bwd_input, conv2d_bwd_weight, conv2d_fwd, conv2d_maxpool2_bwd_weight,
    conv2d_maxpool2_fwd,
};
pub use elementwise::{add_assign, add_bias_rows, relu_bwd, relu_fwd, softmax_xent, sum_rows};
pub use fma_width::{fma_rates, kernel_path_description, FmaRates};
pub use gemm::{sgemm, sgemm_with, Trans};
pub use geom::ConvGeom;
pub use isa::{active_isa, available_isas, Isa};
pub use norm::{
    batch_norm_bwd, batch_norm_bwd_param_squares, batch_norm_fwd, batch_norm_inv_std,
    batch_norm_stats, batch_norm_update_running, BnShape, BN_EPS, BN_MOMENTUM,
};
pub use pool::{global_avg_pool_bwd, global_avg_pool_fwd, maxpool2_bwd, maxpool2_fwd};
