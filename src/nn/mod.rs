//! The networks of PROTOCOL section 3: presets `small` and `cifar` (and `tiny`, small enough to
//! print in full for `regimebench explain`), their five layer groups, forward passes that can start
//! at any group (for frozen-prefix caching), and seeded init.

mod init;

use crate::heads::Heads;
use crate::params::{Group, ParamId, ParamStore};
use crate::tape::{NodeId, Tape};

/// A network preset of PROTOCOL section 3.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// 1×28×28 input; conv 1→16→32→64, fc 576→128, head 128→k.
    Small,
    /// 3×32×32 input; conv 3→32→64→128, fc 2048→256, head 256→k.
    Cifar,
    /// 1×8×8 input; conv 1→2→2→2, fc 2→4, head 4→k: the same five groups and ops with a few
    /// dozen parameters, for `regimebench explain` (not a preset of the study, so not offered by
    /// `run`).
    #[value(skip)]
    Tiny,
}

impl Preset {
    pub const ALL: [Preset; 3] = [Preset::Small, Preset::Cifar, Preset::Tiny];

    /// The name used on the command line, in results and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Small => "small",
            Preset::Cifar => "cifar",
            Preset::Tiny => "tiny",
        }
    }

    /// `(channels, height, width)` of the input.
    pub fn input_chw(self) -> (usize, usize, usize) {
        match self {
            Preset::Small => (1, 28, 28),
            Preset::Cifar => (3, 32, 32),
            Preset::Tiny => (1, 8, 8),
        }
    }
    /// Output channels of the three conv groups.
    fn conv_channels(self) -> [usize; 3] {
        match self {
            Preset::Small => [16, 32, 64],
            Preset::Cifar => [32, 64, 128],
            Preset::Tiny => [2, 2, 2],
        }
    }
    fn hidden(self) -> usize {
        match self {
            Preset::Small => 128,
            Preset::Cifar => 256,
            Preset::Tiny => 4,
        }
    }
    /// Floats per image at the input of group `g` (the image itself for G1); each pool halves
    /// the sides, flooring (7×7 → 3×3 for `small`).
    pub fn group_input_len(self, g: Group) -> usize {
        let (c, h, w) = self.input_chw();
        match g.index() {
            0 => c * h * w,
            i @ 1..=3 => self.conv_channels()[i - 1] * (h >> i) * (w >> i),
            _ => self.hidden(),
        }
    }
    /// Features out of G3: channels × (side/8)², the pools flooring (7×7 → 3×3 for `small`).
    fn flat_features(self) -> usize {
        let (_, h, w) = self.input_chw();
        self.conv_channels()[2] * (h / 8) * (w / 8)
    }
}

impl std::fmt::Display for Preset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A conv/fc layer's weight and bias.
#[derive(Clone, Copy, Debug)]
pub struct Layer {
    pub w: ParamId,
    pub b: ParamId,
}

/// The five-group CNN. With several head layers (the `multi` layout) each task has its own G5 head.
#[derive(Clone, Debug)]
pub struct Cnn {
    pub preset: Preset,
    /// Outputs per head layer ([`crate::heads::Heads::width`]: C under `global`, k otherwise).
    pub width: usize,
    convs: [Layer; 3],
    fc: Layer,
    heads: Vec<Layer>,
    /// Scalars the network added to its store (the store must hold exactly these).
    param_len: usize,
}

impl Cnn {
    /// Adds the network's parameters (zeros) to `params`, in the order G1..G5, with `heads` head
    /// layers of `width` outputs each. Names and layouts are PyTorch's: `conv{1,2,3}.{w,b}` (OIHW),
    /// `fc.{w,b}`, `head.{w,b}` (`head{t}.*` with several heads), linear weights `[out, in]`.
    pub fn new(preset: Preset, width: usize, heads: usize, params: &mut ParamStore) -> Self {
        assert!(
            width >= 1 && heads >= 1,
            "a network needs at least one head of at least one output"
        );
        let (c0, _, _) = preset.input_chw();
        let ch = preset.conv_channels();
        let groups = [Group::G1, Group::G2, Group::G3];
        let ins = [c0, ch[0], ch[1]];
        let convs = std::array::from_fn(|i| Layer {
            w: params.add(
                &format!("conv{}.w", i + 1),
                groups[i],
                &[ch[i], ins[i], 3, 3],
            ),
            b: params.add(&format!("conv{}.b", i + 1), groups[i], &[ch[i]]),
        });
        let (d, hdim) = (preset.flat_features(), preset.hidden());
        let fc = Layer {
            w: params.add("fc.w", Group::G4, &[hdim, d]),
            b: params.add("fc.b", Group::G4, &[hdim]),
        };
        let heads = (0..heads)
            .map(|t| {
                let name = if heads == 1 {
                    "head".to_string()
                } else {
                    format!("head{t}")
                };
                Layer {
                    w: params.add(&format!("{name}.w"), Group::G5, &[width, hdim]),
                    b: params.add(&format!("{name}.b"), Group::G5, &[width]),
                }
            })
            .collect();
        Cnn {
            preset,
            width,
            convs,
            fc,
            heads,
            param_len: params.len(),
        }
    }

    /// A network for `heads` (one head layer per [`Heads::layers`], each [`Heads::width`] wide).
    pub fn for_heads(preset: Preset, heads: &Heads, params: &mut ParamStore) -> Self {
        Cnn::new(preset, heads.width(), heads.layers(), params)
    }

    /// Scalars in the network's parameters.
    pub fn param_len(&self) -> usize {
        self.param_len
    }

    pub fn heads(&self) -> usize {
        self.heads.len()
    }

    /// Per parameter (indexed like [`ParamStore::ids`]), whether a task training head layer
    /// `head` under a regime of groups `trainable` trains it: its group is trainable, and of G5
    /// only that task's head layer (another task's head is neither stepped nor decayed).
    pub fn trainable(&self, p: &ParamStore, trainable: &[Group], head: usize) -> Vec<bool> {
        let own = self.heads[head];
        p.ids()
            .map(|id| {
                let g = p.info(id).group;
                trainable.contains(&g) && (g != Group::G5 || id == own.w || id == own.b)
            })
            .collect()
    }

    /// Every layer with the gain of its init: Kaiming (√2) for conv and hidden fc, the head's
    /// U(±1/√fan_in) otherwise.
    fn layers(&self) -> impl Iterator<Item = (Layer, bool)> + '_ {
        self.convs
            .iter()
            .chain([&self.fc])
            .map(|l| (*l, true))
            .chain(self.heads.iter().map(|l| (*l, false)))
    }

    /// Logits `[N, width]` of head layer `head` for the input node `x` `[N, C, H, W]`.
    pub fn forward(&self, tape: &mut Tape, p: &ParamStore, x: NodeId, head: usize) -> NodeId {
        self.forward_from(tape, p, Group::G1, x, head)
    }

    /// Logits from the input of group `from`: `h` is what the groups below `from` would output
    /// (the image itself for G1). With a frozen prefix G1..from−1, `h` can be computed once per
    /// image and cached.
    pub fn forward_from(
        &self,
        tape: &mut Tape,
        p: &ParamStore,
        from: Group,
        h: NodeId,
        head: usize,
    ) -> NodeId {
        Group::ALL[from.index()..]
            .iter()
            .fold(h, |h, &g| self.group_forward(tape, p, g, h, head))
    }

    /// The features entering the head (G5's input) from the input `h` of group `from`: groups
    /// `from..G5` (none when `from` is G5).
    pub fn features(&self, tape: &mut Tape, p: &ParamStore, from: Group, h: NodeId) -> NodeId {
        Group::ALL[from.index()..Group::G5.index()]
            .iter()
            .fold(h, |h, &g| self.group_forward(tape, p, g, h, 0))
    }

    /// The output of group `g` given its input `h` (`head` matters only for G5).
    pub fn group_forward(
        &self,
        tape: &mut Tape,
        p: &ParamStore,
        g: Group,
        h: NodeId,
        head: usize,
    ) -> NodeId {
        match g {
            Group::G1 | Group::G2 | Group::G3 => {
                // conv + ReLU + max-pool, computed as conv + max-pool + ReLU: the same values and
                // gradients (ReLU is monotone, so it commutes with max; a window whose maximum is
                // not positive passes no gradient either way), on a quarter of the elements.
                // Where the input takes no gradient (the first layer, or above a frozen prefix),
                // the conv and the pool run as one op, which never stores the conv's output; the
                // same bits either way. Where it does, its backward needs the whole conv gradient
                // anyway, and the fused forward measured no faster (`regimebench bench`, 1 thread,
                // three rounds: fused only where the input takes no gradient, small 5,954-6,185
                // img/s, cifar 1,585-1,652; fused everywhere 6,025-6,082 and 1,495-1,578).
                let l = self.convs[g.index()];
                let m = if tape.needs_grad(h) {
                    let c = tape.conv2d(p, h, l.w, l.b, 1, 1);
                    tape.maxpool2(c)
                } else {
                    tape.conv2d_maxpool2(p, h, l.w, l.b, 1, 1)
                };
                tape.relu(m)
            }
            Group::G4 => {
                let f = tape.flatten(h);
                let z = tape.linear(p, f, self.fc.w, self.fc.b);
                tape.relu(z)
            }
            Group::G5 => {
                let l = self.heads[head];
                tape.linear(p, h, l.w, l.b)
            }
        }
    }
}
