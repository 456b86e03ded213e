//! The report's tables, in Markdown: the scalar programs' times and ratios
//! with the large program's start-up, the same for the SIMD builds, and each
//! SIMD build over its scalar build on every engine.

use std::fmt::Write as _;
use std::time::Duration;

use crate::cell::{Cell, format_time, geomean};
use crate::ratios;

/// One row: a program's native time and each engine's, in engine order.
pub struct Row {
    pub name: &'static str,
    /// For a SIMD build, the name of its scalar program.
    pub scalar: Option<&'static str>,
    pub native: Cell,
    pub engines: Vec<Cell>,
}

/// The cell of column `name` (an engine of `names`, or `native`) of a row
/// whose native cell is `native` and engine cells `engines`.
fn column<'a>(
    names: &[&str],
    native: &'a Cell,
    engines: &'a [Cell],
    name: &str,
) -> Option<&'a Cell> {
    if name == "native" {
        return Some(native);
    }
    engines.get(names.iter().position(|n| *n == name)?)
}

impl Row {
    /// The cell of column `name` (an engine of `names`, or `native`).
    fn column<'a>(&'a self, names: &[&str], name: &str) -> Option<&'a Cell> {
        column(names, &self.native, &self.engines, name)
    }
}

fn cell(c: &Cell) -> String {
    match c {
        Cell::Time { median, .. } => format_time(*median),
        Cell::Unavailable => "n/a".into(),
        Cell::Failed => "MISMATCH/error".into(),
    }
}

fn format_ratio(r: Option<f64>) -> String {
    match r {
        Some(r) => format!("{r:.2}x"),
        None => "n/a".into(),
    }
}

/// The geometric mean of the times a column has, noting how many it has
/// when some are missing.
fn mean_time(times: Vec<Option<Duration>>) -> String {
    let n = times.len();
    let secs: Vec<f64> = times
        .into_iter()
        .flatten()
        .map(|t| t.as_secs_f64())
        .collect();
    match geomean(&secs) {
        Some(g) if secs.len() == n => format_time(Duration::from_secs_f64(g)),
        Some(g) => format!(
            "{} ({} of {n})",
            format_time(Duration::from_secs_f64(g)),
            secs.len()
        ),
        None => "n/a".into(),
    }
}

/// A chart's series: its label and a value per row (`None` where missing).
pub type Series = (String, Vec<Option<f64>>);

/// The [`ratios`] columns of `rows` as series for a chart: each ratio's
/// label (`a / b`) and its value per row (`None` where a cell is missing),
/// the geometric mean last; and the row labels, `geometric mean` last.
pub fn ratio_series(names: &[&str], rows: &[&Row]) -> (Vec<String>, Vec<Series>) {
    let mut labels: Vec<String> = rows.iter().map(|r| r.name.to_owned()).collect();
    labels.push("geometric mean".into());
    let series = ratios(names)
        .into_iter()
        .map(|(a, b)| {
            let mut values: Vec<Option<f64>> = rows
                .iter()
                .map(|r| r.column(names, a)?.ratio(r.column(names, b)?))
                .collect();
            let present: Vec<f64> = values.iter().flatten().copied().collect();
            values.push(geomean(&present));
            (format!("{a} / {b}"), values)
        })
        .collect();
    (labels, series)
}

/// Prints the report: the scalar programs' table (with the `extra` rows,
/// each a label and a cell per engine, after the means), the
/// SIMD builds' table and their ratios to the scalar builds if `rows` has
/// any, then why each unavailable engine is.
pub fn print_report(
    names: &[&'static str],
    rows: &[Row],
    extra: &[(String, Vec<Cell>)],
    unavailable: &[(&str, String)],
) {
    let mut out = String::new();
    let scalar: Vec<&Row> = rows.iter().filter(|r| r.scalar.is_none()).collect();
    let simd: Vec<&Row> = rows.iter().filter(|r| r.scalar.is_some()).collect();
    times_table(&mut out, names, &scalar, extra);
    if !simd.is_empty() {
        let _ = writeln!(
            out,
            "\nSIMD builds (clang -O3 -msimd128 -ffp-contract=off; natively cc -O3), each measured in the same \
             processes as its scalar build, taking turns:\n"
        );
        times_table(&mut out, names, &simd, &[]);
        let _ = writeln!(
            out,
            "\nEach SIMD build over its scalar build (clang -O2; natively cc -O2) on the same \
             engine, paired by round (below 1x: the SIMD build is faster):\n"
        );
        simd_table(&mut out, names, &simd, rows);
    }
    for (name, reason) in unavailable {
        let _ = writeln!(out, "\n{name}: n/a, {reason}");
    }
    print!("{out}");
}

/// A table of times with the [`RATIOS`] columns and a geometric mean row,
/// then the `extra` rows (start-up, instantiation), outside the means.
fn times_table(out: &mut String, names: &[&str], rows: &[&Row], extra: &[(String, Vec<Cell>)]) {
    let pairs = ratios(names);
    let ratio =
        |row: &Row, (a, b): (&str, &str)| row.column(names, a)?.ratio(row.column(names, b)?);
    let _ = write!(out, "| workload | native |");
    for name in names {
        let _ = write!(out, " {name} |");
    }
    for &(a, b) in &pairs {
        let _ = write!(out, " {a} / {b} |");
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "|---|---:|{}{}",
        "---:|".repeat(names.len()),
        "---:|".repeat(pairs.len())
    );
    for row in rows {
        let _ = write!(out, "| {} | {} |", row.name, cell(&row.native));
        for c in &row.engines {
            let _ = write!(out, " {} |", cell(c));
        }
        for &pair in &pairs {
            let _ = write!(out, " {} |", format_ratio(ratio(row, pair)));
        }
        let _ = writeln!(out);
    }

    // Geometric means over the programs each column has a time for.
    let _ = write!(
        out,
        "| **geometric mean** | {} |",
        mean_time(rows.iter().map(|r| r.native.time()).collect())
    );
    for i in 0..names.len() {
        let _ = write!(
            out,
            " {} |",
            mean_time(rows.iter().map(|r| r.engines[i].time()).collect())
        );
    }
    for &pair in &pairs {
        let ratios: Vec<f64> = rows.iter().filter_map(|r| ratio(r, pair)).collect();
        let _ = write!(out, " {} |", format_ratio(geomean(&ratios)));
    }
    let _ = writeln!(out);

    // Start-up and instantiation of the large program, outside the means.
    for (label, startup) in extra {
        let _ = write!(out, "| {label} | – |");
        for c in startup {
            let _ = write!(out, " {} |", cell(c));
        }
        let no_native = Cell::Unavailable;
        for &(a, b) in &pairs {
            let cell_of = |name| column(names, &no_native, startup, name);
            let r = cell_of(a).zip(cell_of(b)).and_then(|(a, b)| a.ratio(b));
            let _ = write!(out, " {} |", format_ratio(r));
        }
        let _ = writeln!(out);
    }
}

/// `simd / scalar` for `native` and every engine: each SIMD row's cell over
/// the cell of its scalar program's row (in `all`) in the same column; the
/// geometric mean last.
fn simd_table(out: &mut String, names: &[&str], simd: &[&Row], all: &[Row]) {
    let columns: Vec<&str> = std::iter::once("native")
        .chain(names.iter().copied())
        .collect();
    let _ = write!(out, "| SIMD / scalar |");
    for name in &columns {
        let _ = write!(out, " {name} |");
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "|---|{}", "---:|".repeat(columns.len()));
    let ratio = |row: &Row, column: &str| {
        let scalar = all.iter().find(|r| Some(r.name) == row.scalar)?;
        row.column(names, column)?
            .ratio(scalar.column(names, column)?)
    };
    for row in simd {
        let _ = write!(out, "| {} |", row.name);
        for column in &columns {
            let _ = write!(out, " {} |", format_ratio(ratio(row, column)));
        }
        let _ = writeln!(out);
    }
    let _ = write!(out, "| **geometric mean** |");
    for column in &columns {
        let ratios: Vec<f64> = simd.iter().filter_map(|r| ratio(r, column)).collect();
        let _ = write!(out, " {} |", format_ratio(geomean(&ratios)));
    }
    let _ = writeln!(out);
}
