//! One measurement of the report's tables, and how two are compared: by
//! round (see the module comment of `main.rs`).

use std::time::Duration;

/// One measurement in a table.
pub enum Cell {
    /// The median of all timed runs, and the fastest run of each round.
    Time {
        median: Duration,
        rounds: Vec<Duration>,
    },
    /// The engine cannot run on this host (Kiln's JIT off x86-64 Linux), or
    /// no native build could be made; the reason is printed.
    Unavailable,
    /// Wrong output, or an error; the reason was printed as progress.
    Failed,
}

impl Cell {
    pub fn time(&self) -> Option<Duration> {
        match self {
            Cell::Time { median, .. } => Some(*median),
            _ => None,
        }
    }

    /// A cell of one or more rounds of times; `None` when there are none.
    pub fn from_rounds(rounds: &[Vec<Duration>]) -> Option<Cell> {
        let all: Vec<Duration> = rounds.iter().flatten().copied().collect();
        if all.is_empty() || rounds.iter().any(Vec::is_empty) {
            return None;
        }
        Some(Cell::Time {
            median: median(all),
            rounds: rounds
                .iter()
                .filter_map(|r| r.iter().min().copied())
                .collect(),
        })
    }

    /// `self` over `other`, paired by rounds (see the module comment of
    /// `main.rs`); the ratio of the medians when the rounds do not
    /// correspond.
    pub fn ratio(&self, other: &Cell) -> Option<f64> {
        let (
            Cell::Time {
                median: a,
                rounds: ra,
            },
            Cell::Time {
                median: b,
                rounds: rb,
            },
        ) = (self, other)
        else {
            return None;
        };
        if ra.len() != rb.len() || ra.len() < 2 {
            return Some(a.as_secs_f64() / b.as_secs_f64());
        }
        let mut ratios: Vec<f64> = ra
            .iter()
            .zip(rb)
            .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64())
            .collect();
        ratios.sort_unstable_by(f64::total_cmp);
        let n = ratios.len();
        Some(if n % 2 == 1 {
            ratios[n / 2]
        } else {
            (ratios[n / 2 - 1] * ratios[n / 2]).sqrt()
        })
    }
}

pub fn median(mut times: Vec<Duration>) -> Duration {
    times.sort_unstable();
    times[times.len() / 2]
}

pub fn geomean(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let log_sum: f64 = values.iter().map(|v| v.ln()).sum();
    Some((log_sum / values.len() as f64).exp())
}

/// `2.53 s`, `81.2 ms`, `512 µs`: three significant digits.
pub fn format_time(t: Duration) -> String {
    let s = t.as_secs_f64();
    let (value, unit) = if s >= 1.0 {
        (s, "s")
    } else if s >= 1e-3 {
        (s * 1e3, "ms")
    } else {
        (s * 1e6, "µs")
    };
    let decimals = if value >= 100.0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    format!("{value:.decimals$} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(rounds_ms: &[&[u64]]) -> Cell {
        let rounds: Vec<Vec<Duration>> = rounds_ms
            .iter()
            .map(|r| r.iter().map(|&ms| Duration::from_millis(ms)).collect())
            .collect();
        Cell::from_rounds(&rounds).expect("times")
    }

    #[test]
    fn a_ratio_is_the_median_of_the_rounds_ratios() {
        // Conditions changed after the first round for `b`, after the
        // second for `a`: each round's pair still agrees in two of three.
        let a = cell(&[&[100, 102], &[300, 300], &[300, 310]]);
        let b = cell(&[&[100, 98], &[300, 290], &[100, 100]]);
        assert_eq!(a.time(), Some(Duration::from_millis(300)));
        assert_eq!(b.time(), Some(Duration::from_millis(100)));
        let r = a.ratio(&b).expect("a ratio");
        assert!((r - 300.0 / 290.0).abs() < 1e-9, "{r}");
        // A round counts its fastest run: the slow one was disturbed.
        let a = cell(&[&[100, 300], &[310, 100]]);
        let b = cell(&[&[100, 100], &[100, 100]]);
        assert!((a.ratio(&b).expect("a ratio") - 1.0).abs() < 1e-9);
        // Two rounds: the geometric mean of the two ratios.
        let a = cell(&[&[100], &[400]]);
        let b = cell(&[&[100], &[100]]);
        assert!((a.ratio(&b).expect("a ratio") - 2.0).abs() < 1e-9);
    }

    #[test]
    fn unpaired_cells_compare_medians() {
        let a = cell(&[&[30, 10, 20]]);
        let b = cell(&[&[10], &[10]]);
        assert!((a.ratio(&b).expect("a ratio") - 2.0).abs() < 1e-9);
        assert_eq!(a.ratio(&Cell::Unavailable), None);
        assert_eq!(Cell::Failed.ratio(&a), None);
        assert!(Cell::from_rounds(&[vec![], vec![Duration::from_millis(1)]]).is_none());
    }
}
