//! The network presets of PROTOCOL section 3 and the sizes they fix.

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
    /// CIFAR-style ResNet-18 of base width nf (`--width`, default 64; 20 is the "reduced"
    /// ResNet-18): stem + stage 1 (G1), stages 2..4 (G2..G4, ending in global average pooling),
    /// head 8nf→k (G5); batch norm throughout. Takes the dataset's images as they are.
    Resnet18,
    /// 1×8×8 input; conv 1→2→2→2, fc 2→4, head 4→k: the same five groups and ops with a few
    /// dozen parameters, for `regimebench explain` (not a preset of the study, so not offered by
    /// `run`).
    #[value(skip)]
    Tiny,
}

impl Preset {
    pub const ALL: [Preset; 4] = [Preset::Small, Preset::Cifar, Preset::Resnet18, Preset::Tiny];

    /// resnet18's base width nf when `--width` is not given.
    pub const DEFAULT_WIDTH: usize = 64;

    /// The widest resnet18 a config may ask for (its parameters grow as nf²: 11 M at 64).
    pub const MAX_WIDTH: usize = 512;

    /// The name used on the command line, in results and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Small => "small",
            Preset::Cifar => "cifar",
            Preset::Resnet18 => "resnet18",
            Preset::Tiny => "tiny",
        }
    }

    /// `(channels, height, width)` of the input, for the presets made for one input size
    /// (`None` for resnet18, which takes any).
    pub fn input_chw(self) -> Option<(usize, usize, usize)> {
        match self {
            Preset::Small => Some((1, 28, 28)),
            Preset::Cifar => Some((3, 32, 32)),
            Preset::Resnet18 => None,
            Preset::Tiny => Some((1, 8, 8)),
        }
    }

    /// Whether the preset has a base width (`--width`).
    pub fn has_width(self) -> bool {
        self == Preset::Resnet18
    }

    /// Multiply-adds of one image's forward pass through each group G1..G5, for a `chw` input
    /// (`width`: resnet18's nf, its default if `None`) and a head of `outputs`: each convolution's
    /// weights times its output positions, each fully connected layer's weights. Batch norm, ReLU,
    /// pooling and biases are left out (a few per cent).
    pub fn group_macs(
        self,
        width: Option<usize>,
        (c, h, w): (usize, usize, usize),
        outputs: usize,
    ) -> [u64; 5] {
        // Saturating: a config read from a file may hold any width.
        let product = |xs: &[usize]| xs.iter().fold(1u64, |a, &x| a.saturating_mul(x as u64));
        let conv = |c_in: usize, c_out: usize, k: usize, side: (usize, usize)| {
            product(&[c_in, c_out, k, k, side.0, side.1])
        };
        if self == Preset::Resnet18 {
            let nf = width.unwrap_or(Preset::DEFAULT_WIDTH);
            // Stage s (1..3) halves the sides (rounding up) and doubles the channels.
            let halve = |(a, b): (usize, usize)| (a.div_ceil(2), b.div_ceil(2));
            let stage = |s: usize, side| {
                let (c_in, c_out) = (nf.saturating_mul(1 << (s - 1)), nf.saturating_mul(1 << s));
                (conv(c_in, c_out, 3, side))
                    .saturating_add(conv(c_out, c_out, 3, side).saturating_mul(3))
                    .saturating_add(conv(c_in, c_out, 1, side))
            };
            let sides = [
                halve((h, w)),
                halve(halve((h, w))),
                halve(halve(halve((h, w)))),
            ];
            return [
                conv(c, nf, 3, (h, w)).saturating_add(conv(nf, nf, 3, (h, w)).saturating_mul(4)),
                stage(1, sides[0]),
                stage(2, sides[1]),
                stage(3, sides[2]),
                product(&[8, nf, outputs]),
            ];
        }
        let ch = self.conv_channels();
        let ins = [c, ch[0], ch[1]];
        let mut macs = [0u64; 5];
        for i in 0..3 {
            macs[i] = conv(ins[i], ch[i], 3, (h >> i, w >> i));
        }
        macs[3] = (ch[2] * (h >> 3) * (w >> 3) * self.hidden()) as u64;
        macs[4] = (self.hidden() * outputs) as u64;
        macs
    }

    /// Floats per image at the input of group `g` (0-based: G1..G5) for a `chw` input (`width`:
    /// resnet18's nf, its default if `None`): the image for G1; after each pool of a plain preset
    /// a side s is ⌊s/2⌋, after each stride-2 stage of resnet18 ⌈s/2⌉ (its G2 sees stage 1's
    /// full-size output). Saturating, as [`Preset::group_macs`].
    pub fn group_input_len(
        self,
        width: Option<usize>,
        (c, h, w): (usize, usize, usize),
        g: usize,
    ) -> usize {
        let image = c.saturating_mul(h).saturating_mul(w);
        if self == Preset::Resnet18 {
            let nf = width.unwrap_or(Preset::DEFAULT_WIDTH);
            return match g {
                0 => image,
                i @ 1..=3 => {
                    let side = |s: usize| (0..i - 1).fold(s, |s, _| s.div_ceil(2));
                    nf.saturating_mul(1 << (i - 1))
                        .saturating_mul(side(h) * side(w))
                }
                _ => nf.saturating_mul(8),
            };
        }
        match g {
            0 => image,
            i @ 1..=3 => self.conv_channels()[i - 1] * (h >> i) * (w >> i),
            _ => self.hidden(),
        }
    }

    /// Output channels of the three conv groups of a plain preset.
    pub(super) fn conv_channels(self) -> [usize; 3] {
        match self {
            Preset::Small => [16, 32, 64],
            Preset::Cifar => [32, 64, 128],
            Preset::Tiny => [2, 2, 2],
            Preset::Resnet18 => unreachable!("resnet18 is not a plain preset"),
        }
    }

    /// The hidden fc width of a plain preset (the head's input).
    pub(super) fn hidden(self) -> usize {
        match self {
            Preset::Small => 128,
            Preset::Cifar => 256,
            Preset::Tiny => 4,
            Preset::Resnet18 => unreachable!("resnet18 is not a plain preset"),
        }
    }
}

impl std::fmt::Display for Preset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::Preset;

    #[test]
    fn group_macs_count_each_layer_by_hand() {
        // small: conv 1→16 at 28², 16→32 at 14², 32→64 at 7², fc 576→128, head 128→10.
        assert_eq!(
            Preset::Small.group_macs(None, (1, 28, 28), 10),
            [
                16 * 9 * 784,
                16 * 32 * 9 * 196,
                32 * 64 * 9 * 49,
                576 * 128,
                1280
            ]
        );
        assert_eq!(
            Preset::Cifar.group_macs(None, (3, 32, 32), 100),
            [
                3 * 32 * 9 * 1024,
                32 * 64 * 9 * 256,
                64 * 128 * 9 * 64,
                2048 * 256,
                25_600
            ]
        );
        // The CIFAR ResNet-18 (nf 64, 100 classes): about 0.56 G multiply-adds an image.
        let r = Preset::Resnet18.group_macs(None, (3, 32, 32), 100);
        let stage = 64 * 128 * 9 * 256 + 3 * 128 * 128 * 9 * 256 + 64 * 128 * 256;
        assert_eq!(r[1], stage);
        assert_eq!((r[1], r[1]), (r[2], r[3]), "each later stage: same MACs");
        assert_eq!(r[0], 3 * 64 * 9 * 1024 + 4 * 64 * 64 * 9 * 1024);
        assert_eq!(r[4], 512 * 100);
        let total: u64 = r.iter().sum();
        assert!((555_000_000..558_000_000).contains(&total), "{total}");
        // 28×28 inputs: stride 2 maps 7 to 4 (padding 1).
        let m = Preset::Resnet18.group_macs(Some(20), (1, 28, 28), 10);
        assert_eq!(m[3], (80 * 160 * 9 + 3 * 160 * 160 * 9 + 80 * 160) * 16);
    }
}
