//! The networks of PROTOCOL section 3: presets `small` and `cifar` (and `tiny`, small enough to
//! print in full for `regimebench explain`), `resnet18`, their five layer groups, forward passes
//! that can start at any group (for frozen-prefix caching), and seeded init.

mod init;
mod plain;
mod preset;
mod resnet;

pub use preset::Preset;

use crate::heads::Heads;
use crate::params::{Group, ParamId, ParamStore};
use crate::tape::{NodeId, Tape};
use plain::Plain;
use resnet::ResNet;

/// A conv/fc layer's weight and bias.
#[derive(Clone, Copy, Debug)]
pub struct Layer {
    pub w: ParamId,
    pub b: ParamId,
}

/// G1..G4: a plain CNN or a residual one.
#[derive(Clone, Debug)]
enum Body {
    Plain(Plain),
    Residual(Box<ResNet>),
}

/// The five-group network. With several head layers (the `multi` layout) each task has its own
/// G5 head.
#[derive(Clone, Debug)]
pub struct Cnn {
    pub preset: Preset,
    /// Outputs per head layer ([`crate::heads::Heads::width`]: C under `global`, k otherwise).
    pub width: usize,
    body: Body,
    heads: Vec<Layer>,
    /// Scalars the network added to its store (the store must hold exactly these).
    param_len: usize,
}

impl Cnn {
    /// A plain preset's network (`small`, `cifar`, `tiny`): adds its parameters (zeros) to
    /// `params`, in the order G1..G5, with `heads` head layers of `width` outputs each. Names and
    /// layouts are PyTorch's: `conv{1,2,3}.{w,b}` (OIHW), `fc.{w,b}`, `head.{w,b}` (`head{t}.*`
    /// with several heads), linear weights `[out, in]`.
    pub fn new(preset: Preset, width: usize, heads: usize, params: &mut ParamStore) -> Self {
        assert!(
            preset != Preset::Resnet18,
            "resnet18 takes a width and an input size: Cnn::resnet18"
        );
        let body = Body::Plain(Plain::new(preset, params));
        Cnn::with_body(preset, body, width, heads, params)
    }

    /// The ResNet-18 of base width `nf` for `(channels, height, width)` images (see
    /// `nn/resnet.rs` for its names); heads as [`Cnn::new`].
    pub fn resnet18(
        nf: usize,
        input: (usize, usize, usize),
        width: usize,
        heads: usize,
        params: &mut ParamStore,
    ) -> Self {
        let body = Body::Residual(Box::new(ResNet::new(nf, input, params)));
        Cnn::with_body(Preset::Resnet18, body, width, heads, params)
    }

    fn with_body(
        preset: Preset,
        body: Body,
        width: usize,
        heads: usize,
        params: &mut ParamStore,
    ) -> Self {
        assert!(
            width >= 1 && heads >= 1,
            "a network needs at least one head of at least one output"
        );
        let d = match &body {
            Body::Plain(b) => b.features(),
            Body::Residual(b) => b.features(),
        };
        let heads = (0..heads)
            .map(|t| {
                let name = if heads == 1 {
                    "head".to_string()
                } else {
                    format!("head{t}")
                };
                Layer {
                    w: params.add(&format!("{name}.w"), Group::G5, &[width, d]),
                    b: params.add(&format!("{name}.b"), Group::G5, &[width]),
                }
            })
            .collect();
        Cnn {
            preset,
            width,
            body,
            heads,
            param_len: params.len(),
        }
    }

    /// The network of `preset` for `heads` on `(channels, height, width)` images; `nf` is
    /// resnet18's base width ([`Preset::DEFAULT_WIDTH`] when `None`; the plain presets have none).
    pub fn for_input(
        preset: Preset,
        nf: Option<usize>,
        input: (usize, usize, usize),
        heads: &Heads,
        params: &mut ParamStore,
    ) -> Self {
        match preset {
            Preset::Resnet18 => {
                let nf = nf.unwrap_or(Preset::DEFAULT_WIDTH);
                Cnn::resnet18(nf, input, heads.width(), heads.layers(), params)
            }
            _ => Cnn::for_heads(preset, heads, params),
        }
    }

    /// A plain preset's network for `heads` (one head layer per [`Heads::layers`], each
    /// [`Heads::width`] wide).
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

    /// `(channels, height, width)` of the images the network takes.
    pub fn input_chw(&self) -> (usize, usize, usize) {
        match &self.body {
            Body::Plain(_) => self.preset.input_chw().expect("a plain preset's input"),
            Body::Residual(r) => r.input(),
        }
    }

    /// resnet18's base width nf (`None` for the plain presets).
    pub fn nf(&self) -> Option<usize> {
        match &self.body {
            Body::Plain(_) => None,
            Body::Residual(r) => Some(r.nf()),
        }
    }

    /// Floats per image at the input of group `g` (the image itself for G1).
    pub fn group_input_len(&self, g: Group) -> usize {
        match &self.body {
            Body::Plain(b) => b.group_input_len(g),
            Body::Residual(b) => b.group_input_len(g),
        }
    }

    /// After a training step's forward on `tape`: moves the running statistics of every batch
    /// norm that normalised with its batch's (none in the plain presets).
    pub fn update_running_statistics(&self, tape: &Tape, p: &mut ParamStore) {
        if let Body::Residual(r) = &self.body {
            r.update_running_statistics(tape, p);
        }
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
        match (g, &self.body) {
            (Group::G5, _) => {
                let l = self.heads[head];
                tape.linear(p, h, l.w, l.b)
            }
            (_, Body::Plain(b)) => b.group_forward(tape, p, g, h),
            (_, Body::Residual(b)) => b.group_forward(tape, p, g, h),
        }
    }
}
