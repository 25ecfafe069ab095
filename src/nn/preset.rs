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
