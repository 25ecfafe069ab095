//! The sweep's progress: on a terminal one bar, on anything else (a Slurm log, a pipe) one line per
//! run that ends. Both measure the work by the shards' cost model ([`sweep::cost`]) rather than by
//! counting runs: the costliest runs go first, so a count would promise far too much time at the
//! start.

use indicatif::{ProgressBar, ProgressStyle};
use regimebench::sweep::{self, Event, Point};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Runs ended so far and their cost units.
struct Tally {
    done: usize,
    failed: usize,
    /// Finished by another sweep on the same directory meanwhile: not run here.
    elsewhere: usize,
    /// The cost of the runs ended here, and of all that are still to end here.
    cost: u64,
    total: u64,
}

pub(super) struct Progress {
    bar: ProgressBar,
    /// One line per ended run on stderr (when it is not a terminal and not `--quiet`).
    lines: bool,
    runs: usize,
    started: Instant,
    tally: Mutex<Tally>,
}

impl Progress {
    pub fn new(todo: &[Point], quiet: bool) -> Self {
        let total_cost = todo.iter().map(|p| sweep::cost(&p.config)).sum::<u64>();
        let terminal = std::io::stderr().is_terminal();
        let bar = if quiet || todo.is_empty() || !terminal {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(total_cost.max(1))
        };
        bar.set_style(
            ProgressStyle::with_template("[{bar:30}] {msg}, {elapsed} so far, eta {eta}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        let tally = Tally {
            done: 0,
            failed: 0,
            elsewhere: 0,
            cost: 0,
            total: total_cost,
        };
        let progress = Progress {
            bar,
            lines: !quiet && !terminal,
            runs: todo.len(),
            started: Instant::now(),
            tally: Mutex::new(tally),
        };
        progress
            .bar
            .set_message(progress.counts(&progress.tally.lock().expect("new")));
        progress
    }

    /// "done D, failed F, left L of N runs" (and "finished elsewhere E" once there are some).
    fn counts(&self, t: &Tally) -> String {
        let left = self.runs - t.done - t.failed - t.elsewhere;
        let elsewhere = match t.elsewhere {
            0 => String::new(),
            e => format!(", finished elsewhere {e}"),
        };
        format!(
            "done {}, failed {}{elsewhere}, left {left} of {} runs",
            t.done, t.failed, self.runs
        )
    }

    /// The time left, from the time so far and the share of the cost done.
    fn left(&self, t: &Tally) -> Option<Duration> {
        let rest = t.total.checked_sub(t.cost)?;
        (t.cost > 0).then(|| self.started.elapsed().mul_f64(rest as f64 / t.cost as f64))
    }

    pub fn on_event(&self, e: Event<'_>) {
        let mut t = self.tally.lock().unwrap_or_else(|e| e.into_inner());
        let (what, config) = match e {
            Event::Finished(p) => {
                t.done += 1;
                (format!("finished {}", p.label()), &p.config)
            }
            Event::FinishedElsewhere(p) => {
                // Not work done here: it leaves the total rather than joining the cost done.
                t.elsewhere += 1;
                t.total = t.total.saturating_sub(sweep::cost(&p.config));
                self.bar.set_length(t.total.max(1));
                (
                    format!("skipped {} (finished by another sweep)", p.label()),
                    &p.config,
                )
            }
            Event::Failed(f) => {
                t.failed += 1;
                let what = format!("failed {}: {}", f.label, f.error);
                self.bar.println(&what);
                (what, &f.config)
            }
        };
        if !matches!(e, Event::FinishedElsewhere(_)) {
            t.cost += sweep::cost(config);
        }
        self.bar.set_message(self.counts(&t));
        self.bar.set_position(t.cost);
        if self.lines {
            let eta = (self.left(&t)).map_or("unknown".into(), |d| format!("about {}", hms(d)));
            eprintln!(
                "[{}/{}] {what} ({}; {} so far, {eta} left)",
                t.done + t.failed + t.elsewhere,
                self.runs,
                self.counts(&t),
                hms(self.started.elapsed())
            );
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// `1h02m03s`, `2m03s` or `3s`.
fn hms(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, s) => format!("{h}h{m:02}m{s:02}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::hms;
    use std::time::Duration;

    #[test]
    fn durations_read_as_hours_minutes_seconds() {
        assert_eq!(hms(Duration::from_secs(3)), "3s");
        assert_eq!(hms(Duration::from_secs(123)), "2m03s");
        assert_eq!(hms(Duration::from_secs(3723)), "1h02m03s");
        assert_eq!(hms(Duration::from_millis(59_999)), "59s");
    }
}
