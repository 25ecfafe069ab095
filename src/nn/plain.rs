//! The plain CNNs of PROTOCOL section 3 (`small`, `cifar`, `tiny`): G1..G3 conv 3×3 pad 1 + ReLU +
//! 2×2 max-pool, G4 fully connected + ReLU.

use super::{Layer, Preset};
use crate::params::{Group, ParamStore};
use crate::tape::{NodeId, Tape};

/// G1..G4 of a plain preset.
#[derive(Clone, Debug)]
pub(super) struct Plain {
    preset: Preset,
    convs: [Layer; 3],
    fc: Layer,
}

impl Plain {
    /// Adds `conv{1,2,3}.{w,b}` (OIHW) and `fc.{w,b}` (`[out, in]`) to `params`, zeros.
    pub(super) fn new(preset: Preset, params: &mut ParamStore) -> Self {
        let (c0, _, _) = preset
            .input_chw()
            .expect("a plain preset has a fixed input");
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
        let fc = Layer {
            w: params.add("fc.w", Group::G4, &[preset.hidden(), Plain::flat(preset)]),
            b: params.add("fc.b", Group::G4, &[preset.hidden()]),
        };
        Plain { preset, convs, fc }
    }

    /// Features out of G3: channels × (side/8)², the pools flooring (7×7 → 3×3 for `small`).
    fn flat(preset: Preset) -> usize {
        let (_, h, w) = preset
            .input_chw()
            .expect("a plain preset has a fixed input");
        preset.conv_channels()[2] * (h / 8) * (w / 8)
    }

    /// The head's input width.
    pub(super) fn features(&self) -> usize {
        self.preset.hidden()
    }

    /// Floats per image at the input of group `g` (G1..G5); each pool halves the sides, flooring.
    pub(super) fn group_input_len(&self, g: Group) -> usize {
        let chw = self
            .preset
            .input_chw()
            .expect("a plain preset has a fixed input");
        self.preset.group_input_len(None, chw, g.index())
    }

    /// The Kaiming-initialised layers, G1..G4.
    pub(super) fn layers(&self) -> impl Iterator<Item = Layer> + '_ {
        self.convs.iter().chain([&self.fc]).copied()
    }

    /// The output of group `g` (G1..G4) given its input `h`.
    pub(super) fn group_forward(
        &self,
        tape: &mut Tape,
        p: &ParamStore,
        g: Group,
        h: NodeId,
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
            Group::G5 => unreachable!("the head is the network's, not the body's"),
        }
    }
}
