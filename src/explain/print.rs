//! The text `regimebench explain` prints: the problem, then each recorded value under its
//! PROTOCOL name with what it is, parameter vectors labelled by tensor, matrices by row.

use super::Explained;
use crate::params::ParamStore;
use crate::trace::{Entry, Stage, Value};
use std::fmt::Write;

/// Values per printed line.
const PER_LINE: usize = 6;

/// The text of `e`: every entry when `all`, else those of the last task switch (the end of the
/// second-to-last task) and of the last task.
pub fn render(e: &Explained, all: bool) -> String {
    let mut out = String::new();
    let tasks = e.acc.len();
    let cfg = &e.config;
    let method = serde_json::to_string(&e.method).unwrap_or_default();
    let _ = writeln!(
        out,
        "regimebench explain: {}, regime {}, head {}\n\
         {tasks} toy tasks of 2 classes (8x8 images, bars on noise), {} training images each, in \
         SGD steps of {} (eta {}); task 1 trains every group, the regime governs the rest.\n\
         method: {method}",
        e.method.kind(),
        cfg.regime,
        cfg.head,
        super::toy::TRAIN,
        cfg.batch,
        cfg.sgd.lr,
    );
    let _ = writeln!(
        out,
        "parameters of the tiny network ({} scalars):",
        e.params.len()
    );
    for id in e.params.ids() {
        let i = e.params.info(id);
        let _ = writeln!(out, "  {:<8} {:?} {}", i.name, i.shape, i.group.name());
    }
    let _ = writeln!(
        out,
        "Vectors over the parameters show only their meaningful entries (trainable, or with a \
         Fisher), tensor by tensor in PyTorch's layout.{}",
        if all {
            ""
        } else {
            "\nShown: the last task switch and the steps after it (--all: everything)."
        }
    );
    // The last switch: the end of task T-1, then task T up to its end.
    let shown = |x: &Entry| {
        let last = x.task + 1 == tasks && x.stage != Stage::End;
        all || last || (x.task + 2 == tasks && x.stage == Stage::End)
    };
    let (mut at, mut last): (_, Option<&Entry>) = (None, None);
    for x in e.entries.iter().filter(|x| shown(x)) {
        if at != Some((x.task, x.stage)) {
            at = Some((x.task, x.stage));
            let t = x.task + 1;
            let _ = match x.stage {
                Stage::Start => writeln!(out, "\n== task {t} starts =="),
                Stage::Step(n) => writeln!(out, "\n== task {t}, step {n} =="),
                Stage::End => writeln!(out, "\n== task {t} ends =="),
            };
        }
        match last {
            // g~ = g, θ' = θ_sgd: said, not printed twice.
            Some(l) if l.value == x.value && matches!(x.value, Value::Params { .. }) => {
                let _ = writeln!(out, "{} = {}   ({})", x.name, l.name, x.note);
            }
            _ => entry(&mut out, x, &e.params),
        }
        last = Some(x);
    }
    let _ = writeln!(
        out,
        "\naccuracy A[i][j] (after task i, on task j's two test images):"
    );
    for row in &e.acc {
        let cells: Vec<String> = row.iter().map(|a| format!("{a:.2}")).collect();
        let _ = writeln!(out, "  {}", cells.join(" "));
    }
    out
}

fn entry(out: &mut String, x: &Entry, p: &ParamStore) {
    let _ = match &x.value {
        Value::Scalar(v) => writeln!(out, "{} = {}   ({})", x.name, num(*v), x.note),
        Value::Text(t) => writeln!(out, "{}: {t}   ({})", x.name, x.note),
        Value::Matrix { rows, cols, data } => {
            let _ = writeln!(out, "{} [{rows} x {cols}]   ({})", x.name, x.note);
            for (r, row) in data.chunks(*cols.max(&1)).enumerate() {
                lines(out, &format!("  [{r}]"), row);
            }
            Ok(())
        }
        Value::Params { values, ranges } => {
            let _ = writeln!(out, "{}   ({})", x.name, x.note);
            for id in p.ids() {
                let info = p.info(id);
                let kept: Vec<f64> = (info.range.clone())
                    .filter(|i| ranges.iter().any(|r| r.contains(i)))
                    .map(|i| values[i])
                    .collect();
                if !kept.is_empty() {
                    lines(out, &format!("  {}", info.name), &kept);
                }
            }
            Ok(())
        }
    };
}

/// `label` then the values, [`PER_LINE`] a line, continuation lines indented under the first.
fn lines(out: &mut String, label: &str, values: &[f64]) {
    let pad = " ".repeat(label.chars().count().max(9));
    for (n, chunk) in values.chunks(PER_LINE).enumerate() {
        let cells: Vec<String> = chunk.iter().map(|&v| format!("{:>13}", num(v))).collect();
        let head = if n == 0 {
            format!("{label:<9}")
        } else {
            pad.clone()
        };
        let _ = writeln!(out, "{head}{}", cells.join(""));
    }
}

/// Six significant digits, exactly 0 as `0`.
fn num(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else {
        format!("{v:.5e}")
    }
}
