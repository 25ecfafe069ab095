//! The loop and the method hooks: hooks run in order, an extra loss on the step's graph is back-propagated,
//! a non-finite loss, g̃ or θ stops the run with its exact place, a hook that writes a frozen entry
//! is caught.

mod support;

use regimebench::heads::HeadLayout;
use regimebench::methods::{Method, Seed, Step, TaskData, TaskInfo};
use regimebench::nn::Preset;
use regimebench::params::{Group, ParamStore};
use regimebench::train::{train, Diverged, NonFinite};
use regimebench::Error;
use support::{config, Stripes};

/// Records every hook call and adds an extra loss `½ c Σ z²` on the logits.
struct Probe {
    c: f32,
    calls: Vec<String>,
    max_step_error: f32,
}

impl Method for Probe {
    fn begin_task(&mut self, t: &TaskInfo, _: &ParamStore) {
        self.calls.push(format!("begin {}", t.task));
    }
    fn extra_loss(&mut self, _: &TaskInfo, step: &mut Step) -> Option<(f32, Vec<Seed>)> {
        let shape = step.tape.shape(step.input).to_vec();
        assert_eq!(
            step.tape.value(step.input).len(),
            shape.iter().product::<usize>()
        );
        let z = step.tape.value(step.logits);
        Some((
            0.5 * self.c * z.iter().map(|v| v * v).sum::<f32>(),
            vec![(step.logits, z.iter().map(|v| self.c * v).collect())],
        ))
    }
    fn after_step(&mut self, t: &TaskInfo, before: &[f32], theta: &mut [f32], g: &[f32]) {
        for i in t.trainable.iter().flat_map(|r| r.clone()) {
            self.max_step_error = self
                .max_step_error
                .max((theta[i] - (before[i] - 0.05 * g[i])).abs());
        }
        self.calls.push("step".into());
    }
    fn end_task(
        &mut self,
        t: &TaskInfo,
        data: &TaskData,
        _: &ParamStore,
    ) -> regimebench::Result<()> {
        let kept = data.kept_trainable.iter().filter(|&&k| k).count();
        let from = data.train.from();
        let n = data.train.len();
        self.calls.push(format!(
            "end {} ({n} inputs of {from:?}, {kept} kept)",
            t.task
        ));
        Ok(())
    }
    fn wants_step_delta(&self) -> bool {
        true
    }
}

#[test]
fn hooks_run_in_order_and_an_extra_logits_loss_is_back_propagated() {
    let src = Stripes {
        tasks: 2,
        k: 2,
        chw: (1, 28, 28),
        train: 32,
        test: 8,
    };
    let cfg = config("R2", HeadLayout::Global, true);
    let (net, mut p) = support::network(Preset::Small, HeadLayout::Global, &src, 0);
    let init = p.clone();
    let mut probe = Probe {
        c: 0.02,
        calls: Vec::new(),
        max_step_error: 0.0,
    };
    train(&cfg, &net, &mut p, &src, &mut probe, &mut |_, _, _, _| {}).unwrap();
    let steps = vec!["step".to_string(); 2];
    let expected: Vec<String> = ["begin 0"]
        .iter()
        .map(|s| s.to_string())
        .chain(steps.clone())
        // Task 1 trains everything from the images; the regime (R2) keeps fc and head (4 tensors);
        // task 2 trains them from the features cached at G4's input.
        .chain(["end 0 (32 inputs of G1, 4 kept)".into(), "begin 1".into()])
        .chain(steps)
        .chain(["end 1 (32 inputs of G4, 4 kept)".into()])
        .collect();
    assert_eq!(probe.calls, expected);
    assert_eq!(
        probe.max_step_error, 0.0,
        "after_step sees θ after exactly θ − η g̃"
    );

    // A first step by hand, on task 2's images: the gradient of the 4-way xent (global labels)
    // + ½c Σz² is the sum of two backward passes.
    use regimebench::tape::Tape;
    use regimebench::tensor::Tensor;
    use regimebench::train::{Part, TaskSource};
    let mut q = init.clone();
    let positions: Vec<usize> = (0..16).collect();
    let mut x = vec![0.0; 16 * 784];
    let mut y = vec![0; 16];
    src.fill(1, Part::Train, &positions, &mut x, &mut y);
    let mut tape = Tape::new(&q, &Group::ALL);
    let xi = tape.input(Tensor::new(&[16, 1, 28, 28], x));
    let z = net.forward(&mut tape, &q, xi, 0);
    assert_eq!(
        tape.shape(z),
        &[16, 4],
        "one output per class of the stream"
    );
    // Task 2's classes are 2 and 3: its local labels 0, 1 train outputs 2, 3.
    let global: Vec<u32> = y.iter().map(|l| l + 2).collect();
    let l = tape.softmax_xent(z, &global);
    let (mut g1, mut g2) = (vec![0.0; q.len()], vec![0.0; q.len()]);
    tape.backward(l, &q, &mut g1);
    let dz: Vec<f32> = tape.value(z).iter().map(|v| 0.02 * v).collect();
    tape.backward_with(vec![(z, dz)], &q, &mut g2);
    for ((t, a), b) in q.flat_mut().iter_mut().zip(&g1).zip(&g2) {
        *t -= 0.05 * (a + b);
    }
    let mut one = init.clone();
    let mut first = Probe {
        c: 0.02,
        calls: Vec::new(),
        max_step_error: 0.0,
    };
    // One task, the same 16 images of task 2 in one batch (the stream's 4 classes: the network
    // keeps its 4-way head): the loop's shuffle changes only their order, which moves the
    // mean loss's gradient by rounding alone.
    let one_step = OneTask(Stripes {
        tasks: 2,
        k: 2,
        chw: (1, 28, 28),
        train: 16,
        test: 1,
    });
    let mut cfg1 = config("R5", HeadLayout::Global, false);
    cfg1.batch = 16;
    train(
        &cfg1,
        &net,
        &mut one,
        &one_step,
        &mut first,
        &mut |_, _, _, _| {},
    )
    .unwrap();
    let worst = q
        .flat()
        .iter()
        .zip(one.flat())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(
        worst < 1e-5,
        "loop with an extra logits loss vs by hand: max |Δθ| {worst}"
    );
}

/// The second task of a stream alone (its classes 2 and 3, so global labels differ from local
/// ones), out of the stream's classes (so the global head keeps its width).
struct OneTask(Stripes);

impl regimebench::train::TaskSource for OneTask {
    fn n_tasks(&self) -> usize {
        1
    }
    fn n_classes(&self) -> usize {
        self.0.n_classes()
    }
    fn task_classes(&self, _: usize) -> Vec<u16> {
        self.0.task_classes(1)
    }
    fn image_chw(&self) -> (usize, usize, usize) {
        self.0.image_chw()
    }
    fn len(&self, _: usize, part: regimebench::train::Part) -> usize {
        self.0.len(1, part)
    }
    fn fill(
        &self,
        _: usize,
        part: regimebench::train::Part,
        pos: &[usize],
        x: &mut [f32],
        y: &mut [u32],
    ) {
        self.0.fill(1, part, pos, x, y)
    }
}

/// Injects a NaN at one step (1-based, counted within the task) of one task (0-based): into the
/// loss, into g̃, or into θ after the step.
struct Inject {
    task: usize,
    step: usize,
    into: &'static str,
    seen: usize,
}

impl Inject {
    fn now(&self, t: &TaskInfo) -> bool {
        t.task == self.task && self.seen == self.step
    }
}

impl Method for Inject {
    fn begin_task(&mut self, _: &TaskInfo, _: &ParamStore) {
        self.seen = 0;
    }
    fn extra_loss(&mut self, t: &TaskInfo, step: &mut Step) -> Option<(f32, Vec<Seed>)> {
        self.seen += 1;
        let z = step.tape.value(step.logits).len();
        (self.now(t) && self.into == "loss").then(|| (f32::NAN, vec![(step.logits, vec![0.0; z])]))
    }
    fn adjust_grads(
        &mut self,
        t: &TaskInfo,
        _: &ParamStore,
        grads: &mut [f32],
    ) -> regimebench::Result<()> {
        if self.now(t) && self.into == "gradient" {
            grads[t.trainable[0].start] = f32::INFINITY;
        }
        Ok(())
    }
    fn after_step(&mut self, t: &TaskInfo, _: &[f32], theta: &mut [f32], _: &[f32]) {
        if self.now(t) && self.into == "parameter" {
            theta[t.trainable.last().unwrap().end - 1] = f32::NAN;
        }
    }
}

#[test]
fn a_non_finite_loss_gradient_or_parameter_stops_the_run_at_its_exact_place() {
    let src = Stripes::small(3); // 96 images per task in batches of 16: 6 steps per epoch
    let cases = [
        ("loss", 1, 8, NonFinite::Loss(f32::NAN)),
        (
            "gradient",
            2,
            3,
            NonFinite::Gradient {
                param: "fc.w".into(),
            },
        ),
        // The last step of the last task: without the check it would be evaluated as valid.
        (
            "parameter",
            2,
            12,
            NonFinite::Parameter {
                param: "head.b".into(),
            },
        ),
    ];
    for (into, task, step, what) in cases {
        let mut cfg = config("R2", HeadLayout::Global, true);
        cfg.epochs = 2;
        let (net, mut p) = support::network(Preset::Small, HeadLayout::Global, &src, 0);
        let mut m = Inject {
            task,
            step,
            into,
            seen: 0,
        };
        let err = train(&cfg, &net, &mut p, &src, &mut m, &mut |_, _, _, _| {})
            .err()
            .expect("diverges");
        let Error::Diverged(d) = &err else {
            panic!("{into}: not a divergence: {err}")
        };
        let epoch = (step - 1) / 6 + 1;
        let expected = Diverged {
            task: task + 1,
            epoch,
            step,
            what: what.clone(),
        };
        match (&d.what, &what) {
            (NonFinite::Loss(l), NonFinite::Loss(_)) => assert!(l.is_nan()),
            _ => assert_eq!(d.what, what, "{into}"),
        }
        assert_eq!(
            (d.task, d.epoch, d.step),
            (expected.task, epoch, step),
            "{into}: {err}"
        );
        assert!(
            err.to_string().contains(&format!("task {}", task + 1)),
            "{err}"
        );
    }
}

/// Writes θ or the gradient of an entry that the regime freezes (conv1.w, under R2 in task 2).
#[cfg(debug_assertions)]
struct Trespass(&'static str);

#[cfg(debug_assertions)]
impl Method for Trespass {
    fn adjust_grads(
        &mut self,
        t: &TaskInfo,
        _: &ParamStore,
        grads: &mut [f32],
    ) -> regimebench::Result<()> {
        if t.task == 1 && self.0 == "grads" {
            grads[0] = 1.0;
        }
        Ok(())
    }
    fn after_step(&mut self, t: &TaskInfo, _: &[f32], theta: &mut [f32], _: &[f32]) {
        if t.task == 1 && self.0 == "theta" {
            theta[0] += 1.0;
        }
    }
}

#[cfg(debug_assertions)]
#[test]
fn a_hook_that_writes_a_frozen_entry_is_caught() {
    for (what, message) in [
        ("theta", "changed frozen"),
        ("grads", "wrote the gradient of frozen"),
    ] {
        let caught = std::panic::catch_unwind(|| {
            let src = Stripes::small(2);
            let (net, mut p) = support::network(Preset::Small, HeadLayout::Global, &src, 0);
            let cfg = config("R2", HeadLayout::Global, true);
            let _ = train(
                &cfg,
                &net,
                &mut p,
                &src,
                &mut Trespass(what),
                &mut |_, _, _, _| {},
            );
        });
        let payload = caught.expect_err(what);
        let text = payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(text.contains(message), "{what}: {text}");
    }
}
