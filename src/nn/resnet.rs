//! The CIFAR-style ResNet-18 of PROTOCOL section 3, base width nf: stem conv 3×3 (in → nf) + BN +
//! ReLU, then four stages of two BasicBlocks
//!
//! ```text
//! y = ReLU( BN(conv3x3(ReLU(BN(conv3x3_s(x))))) + shortcut(x) ),
//! shortcut(x) = x, or BN(conv1x1_s(x)) where the block changes stride or channels,
//! ```
//!
//! of nf, 2nf, 4nf, 8nf channels (stages 2..4 start with stride 2), then global average pooling.
//! Groups: G1 = stem + stage 1, G2..G4 = stages 2..4 (G4 ends with the pooling), so the head (G5)
//! sees 8nf features. Convolutions have no bias (batch norm's β is the bias).
//!
//! Batch norm: `y = γ (x − μ) / √(σ² + ε) + β`, ε = 1e-5. On a training step's tape
//! ([`Tape::training`]) a layer whose γ trains normalises with its batch's μ and biased σ², and
//! its running statistics move as PyTorch's do (momentum 0.1, unbiased variance:
//! `r ← 0.9 r + 0.1 s`); everywhere else (evaluation, the Fisher, GEM's memories, LwF's old
//! model, a frozen group) it uses the running statistics, which then stay bit-identical.

use super::Preset;
use crate::params::{BufferId, Group, ParamId, ParamStore};
use crate::tape::{BnStats, NodeId, Tape};
use regimebench_kernels as k;

/// One batch norm layer: γ (`.w`), β (`.b`) and its running statistics (buffers).
#[derive(Clone, Copy, Debug)]
pub(super) struct BatchNorm {
    pub(super) gamma: ParamId,
    pub(super) beta: ParamId,
    pub(super) mean: BufferId,
    pub(super) var: BufferId,
}

/// A bias-free convolution (zero padding `k / 2`) followed by batch norm.
#[derive(Clone, Copy, Debug)]
struct ConvBn {
    w: ParamId,
    stride: usize,
    pad: usize,
    bn: BatchNorm,
}

#[derive(Clone, Copy, Debug)]
struct Block {
    conv1: ConvBn,
    conv2: ConvBn,
    shortcut: Option<ConvBn>,
}

/// G1..G4 of the ResNet-18.
#[derive(Clone, Debug)]
pub(super) struct ResNet {
    nf: usize,
    input: (usize, usize, usize),
    stem: ConvBn,
    stages: [[Block; 2]; 4],
}

/// The group of each stage (the stem is G1's too).
const STAGE_GROUP: [Group; 4] = [Group::G1, Group::G2, Group::G3, Group::G4];

impl ResNet {
    /// Adds the parameters (zeros) and running statistics (mean 0, variance 1) to `params`, with
    /// torchvision-like names: `conv1.w`, `bn1.{w,b,running_mean,running_var}`,
    /// `layer{1..4}.{0,1}.{conv1,bn1,conv2,bn2}.*` and `layer{2..4}.0.shortcut.{conv,bn}.*`.
    pub(super) fn new(nf: usize, input: (usize, usize, usize), params: &mut ParamStore) -> Self {
        assert!(nf >= 1, "resnet18 needs a width of at least 1");
        let stem = conv_bn(params, "conv1", "bn1", Group::G1, [input.0, nf], 3, 1);
        let mut c_in = nf;
        let stages = std::array::from_fn(|s| {
            let (c, g) = (nf << s, STAGE_GROUP[s]);
            std::array::from_fn(|b| {
                let pre = format!("layer{}.{b}", s + 1);
                let stride = if s > 0 && b == 0 { 2 } else { 1 };
                let at = |part: &str| format!("{pre}.{part}");
                let conv1 = conv_bn(params, &at("conv1"), &at("bn1"), g, [c_in, c], 3, stride);
                let conv2 = conv_bn(params, &at("conv2"), &at("bn2"), g, [c, c], 3, 1);
                let (sc, sb) = (at("shortcut.conv"), at("shortcut.bn"));
                let shortcut = (stride != 1 || c_in != c)
                    .then(|| conv_bn(params, &sc, &sb, g, [c_in, c], 1, stride));
                c_in = c;
                Block {
                    conv1,
                    conv2,
                    shortcut,
                }
            })
        });
        ResNet {
            nf,
            input,
            stem,
            stages,
        }
    }

    pub(super) fn input(&self) -> (usize, usize, usize) {
        self.input
    }

    pub(super) fn nf(&self) -> usize {
        self.nf
    }

    /// The head's input width: 8nf.
    pub(super) fn features(&self) -> usize {
        8 * self.nf
    }

    /// Floats per image at the input of group `g`: each stride-2 stage maps a side s to ⌈s/2⌉.
    pub(super) fn group_input_len(&self, g: Group) -> usize {
        Preset::Resnet18.group_input_len(Some(self.nf), self.input, g.index())
    }

    fn conv_bns(&self) -> impl Iterator<Item = &ConvBn> + '_ {
        let blocks = self.stages.iter().flatten();
        std::iter::once(&self.stem)
            .chain(blocks.flat_map(|b| [&b.conv1, &b.conv2].into_iter().chain(b.shortcut.as_ref())))
    }

    /// Every convolution weight, in the order they were added.
    pub(super) fn conv_weights(&self) -> impl Iterator<Item = ParamId> + '_ {
        self.conv_bns().map(|cb| cb.w)
    }

    /// Every batch norm layer, in the order they were added.
    pub(super) fn batch_norms(&self) -> impl Iterator<Item = BatchNorm> + '_ {
        self.conv_bns().map(|cb| cb.bn)
    }

    /// The output of group `g` (G1..G4) given its input `h`.
    pub(super) fn group_forward(
        &self,
        tape: &mut Tape,
        p: &ParamStore,
        g: Group,
        h: NodeId,
    ) -> NodeId {
        let s = g.index();
        assert!(s < 4, "the head is the network's, not the body's");
        let mut h = h;
        if g == Group::G1 {
            let stem = conv_bn_forward(tape, p, h, &self.stem);
            h = tape.relu(stem);
        }
        for block in &self.stages[s] {
            h = block_forward(tape, p, h, block);
        }
        if g == Group::G4 {
            h = tape.global_avg_pool(h);
        }
        h
    }

    /// Moves the running statistics of every layer that normalised with its batch's statistics
    /// on `tape` (a training step's): `r_μ ← (1 − m) r_μ + m μ`, `r_σ² ← (1 − m) r_σ² + m σ² M/(M−1)`,
    /// m = 0.1, M = N·H·W.
    pub(super) fn update_running_statistics(&self, tape: &Tape, p: &mut ParamStore) {
        for (gamma, shape, mean, var) in tape.batch_statistics() {
            let bn = self
                .batch_norms()
                .find(|bn| bn.gamma == gamma)
                .expect("a batch norm node of this network");
            let (run_mean, run_var) = p.buffer_pair_mut(bn.mean, bn.var);
            k::batch_norm_update_running(shape, mean, var, k::BN_MOMENTUM, run_mean, run_var);
        }
    }
}

/// Adds `{conv}.w` `[c_out, c_in, k, k]` and batch norm `{bn}.*` of `c_out` channels to `params`.
fn conv_bn(
    params: &mut ParamStore,
    conv: &str,
    bn: &str,
    g: Group,
    [c_in, c_out]: [usize; 2],
    k: usize,
    stride: usize,
) -> ConvBn {
    let w = params.add(&format!("{conv}.w"), g, &[c_out, c_in, k, k]);
    let gamma = params.add(&format!("{bn}.w"), g, &[c_out]);
    let beta = params.add(&format!("{bn}.b"), g, &[c_out]);
    let mean = params.add_buffer(&format!("{bn}.running_mean"), g, &[c_out], 0.0);
    let var = params.add_buffer(&format!("{bn}.running_var"), g, &[c_out], 1.0);
    ConvBn {
        w,
        stride,
        pad: k / 2,
        bn: BatchNorm {
            gamma,
            beta,
            mean,
            var,
        },
    }
}

fn conv_bn_forward(tape: &mut Tape, p: &ParamStore, x: NodeId, cb: &ConvBn) -> NodeId {
    let z = tape.conv2d_no_bias(p, x, cb.w, cb.stride, cb.pad);
    let bn = cb.bn;
    let stats = if tape.is_training() && tape.is_trainable(bn.gamma) {
        BnStats::Batch
    } else {
        BnStats::Running {
            mean: p.buffer(bn.mean),
            var: p.buffer(bn.var),
        }
    };
    tape.batch_norm(p, z, bn.gamma, bn.beta, stats)
}

fn block_forward(tape: &mut Tape, p: &ParamStore, x: NodeId, b: &Block) -> NodeId {
    let h = conv_bn_forward(tape, p, x, &b.conv1);
    let h = tape.relu(h);
    let h = conv_bn_forward(tape, p, h, &b.conv2);
    let s = match &b.shortcut {
        Some(sc) => conv_bn_forward(tape, p, x, sc),
        None => x,
    };
    let y = tape.add(h, s);
    tape.relu(y)
}
