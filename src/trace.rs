//! Named intermediates of a run, recorded for `regimebench explain`: the training loop and each
//! method put every value of its equations here, under its name in PROTOCOL, when the trace is
//! on. Off (every ordinary run) a record is one branch: the closure that would build the value is
//! never called.

use std::ops::Range;
use std::sync::Mutex;

/// Where in the loop a value was recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// `begin_task`, before the task's first step.
    Start,
    /// The task's n-th step (1-based).
    Step(usize),
    /// `end_task`, with θ*_t.
    End,
}

/// A recorded value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Scalar(f64),
    /// Laid out like the flat parameter buffer; only the entries in `ranges` are meaningful (the
    /// trainable ones, or those a Fisher was computed for).
    Params {
        values: Vec<f64>,
        ranges: Vec<Range<usize>>,
    },
    /// Row-major `[rows, cols]` (a list is one row).
    Matrix {
        rows: usize,
        cols: usize,
        data: Vec<f64>,
    },
    Text(String),
}

impl Value {
    /// A `Params` value from f32 entries.
    pub fn params(values: &[f32], ranges: &[Range<usize>]) -> Value {
        Value::Params {
            values: values.iter().map(|&v| f64::from(v)).collect(),
            ranges: ranges.to_vec(),
        }
    }

    /// A `Matrix` value of `rows` rows from f32 or f64 entries.
    pub fn matrix<T: Copy + Into<f64>>(rows: usize, data: &[T]) -> Value {
        Value::Matrix {
            rows,
            cols: data.len().checked_div(rows).unwrap_or(0),
            data: data.iter().map(|&v| v.into()).collect(),
        }
    }
}

/// One recorded value: its name (PROTOCOL's symbol), what it is in words, and where it was taken.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// 0-based task.
    pub task: usize,
    pub stage: Stage,
    pub name: String,
    pub note: String,
    pub value: Value,
}

/// The entries recorded so far, or nothing at all when off.
#[derive(Debug, Default)]
pub struct Trace {
    on: Option<Mutex<Recorded>>,
}

#[derive(Debug)]
struct Recorded {
    at: (usize, Stage),
    entries: Vec<Entry>,
}

static OFF: Trace = Trace { on: None };

impl Trace {
    /// The trace of every ordinary run: records nothing.
    pub fn off() -> &'static Trace {
        &OFF
    }

    /// A trace that records.
    pub fn on() -> Trace {
        Trace {
            on: Some(Mutex::new(Recorded {
                at: (0, Stage::Start),
                entries: Vec::new(),
            })),
        }
    }

    pub fn is_on(&self) -> bool {
        self.on.is_some()
    }

    /// Where the next entries are taken (the training loop sets it).
    pub fn at(&self, task: usize, stage: Stage) {
        if let Some(r) = &self.on {
            lock(r).at = (task, stage);
        }
    }

    /// Records `name` (what it is: `note`) with the value `value()` builds, when on.
    pub fn record(&self, name: &str, note: &str, value: impl FnOnce() -> Value) {
        if let Some(r) = &self.on {
            let value = value();
            let mut r = lock(r);
            let (task, stage) = r.at;
            r.entries.push(Entry {
                task,
                stage,
                name: name.to_string(),
                note: note.to_string(),
                value,
            });
        }
    }

    /// The entries in the order they were recorded (none when off).
    pub fn into_entries(self) -> Vec<Entry> {
        self.on
            .map(|r| r.into_inner().unwrap_or_else(|e| e.into_inner()).entries)
            .unwrap_or_default()
    }
}

/// A poisoned lock still holds whole entries (a record never panics half-way).
fn lock(r: &Mutex<Recorded>) -> std::sync::MutexGuard<'_, Recorded> {
    r.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_records_nothing_and_never_builds_the_value() {
        let t = Trace::off();
        t.record("x", "", || unreachable!("an off trace builds no value"));
        assert!(!t.is_on());
    }

    #[test]
    #[allow(clippy::single_range_in_vec_init)] // one range of the flat buffer
    fn on_records_in_order_with_the_place() {
        let t = Trace::on();
        t.record("a", "first", || Value::Scalar(1.0));
        t.at(2, Stage::Step(1));
        t.record("F", "second", || Value::params(&[0.5, 2.0], &[1..2]));
        let e = t.into_entries();
        assert_eq!(e.len(), 2);
        assert_eq!(
            (e[0].task, e[0].stage, e[0].name.as_str()),
            (0, Stage::Start, "a")
        );
        assert_eq!((e[1].task, e[1].stage), (2, Stage::Step(1)));
        assert_eq!(
            e[1].value,
            Value::Params {
                values: vec![0.5, 2.0],
                ranges: vec![1..2]
            }
        );
        assert_eq!(
            Value::matrix(2, &[1.0f32, 2.0, 3.0, 4.0]),
            Value::Matrix {
                rows: 2,
                cols: 2,
                data: vec![1.0, 2.0, 3.0, 4.0]
            }
        );
    }
}
