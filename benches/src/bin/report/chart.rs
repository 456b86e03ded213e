//! The report's ratios drawn as a chart: an SVG of horizontal bars, one group
//! per program (the geometric mean last), one bar per ratio column, with a
//! line at 1x, so a reader sees at a glance where each tier stands against
//! its peer (left of the line: Kiln is faster) and what fuel costs.

use std::path::Path;

use anyhow::Context as _;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::table::Series;

/// Bar colours, one per ratio column, in column order (cycled if more).
const COLOURS: [RGBColor; 7] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
];

/// Pixels per bar, and between groups.
const BAR: u32 = 9;
const GAP: u32 = 10;

/// Writes the chart of `series` (a label and a value per row label) over
/// `labels` to `path`, with `title` on top.
///
/// # Errors
///
/// If the file cannot be written.
pub fn write_chart(
    path: &Path,
    title: &str,
    labels: &[String],
    series: &[Series],
) -> anyhow::Result<()> {
    let n = series.len().max(1) as u32;
    let group = n * BAR + GAP;
    let height = 90 + labels.len() as u32 * group + 20 * n;
    let max = series
        .iter()
        .flat_map(|(_, v)| v.iter().flatten())
        .fold(1.0f64, |m, &v| m.max(v));
    // Room on the right for each bar's figure and for the legend.
    let x_max = (max * 1.45).max(1.5);
    let root = SVGBackend::new(path, (900, height)).into_drawing_area();
    root.fill(&WHITE).map_err(draw_error)?;
    let rows = labels.len() as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(130)
        .build_cartesian_2d(0.0..x_max, 0.0..rows)
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_desc("ratio of times (below 1x: the first engine is faster)")
        .x_label_formatter(&|x| format!("{x:.1}x"))
        .draw()
        .map_err(draw_error)?;
    // Row `i` spans `rows - i - 1 .. rows - i`; its label is drawn left of
    // the axis, at the row's middle, in the root area (outside the plot).
    let label_style = ("sans-serif", 13)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Right, VPos::Center));
    for (i, label) in labels.iter().enumerate() {
        let (x, y) = chart.backend_coord(&(0.0, rows - i as f64 - 0.5));
        root.draw(&Text::new(label.as_str(), (x - 8, y), label_style.clone()))
            .map_err(draw_error)?;
    }
    let bar = 1.0 / (f64::from(n) + f64::from(GAP) / f64::from(BAR));
    for (k, (name, values)) in series.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        let top = |i: usize| {
            rows - i as f64 - bar * 0.5 * f64::from(GAP) / f64::from(BAR) - bar * k as f64
        };
        let bars = values.iter().enumerate().filter_map(|(i, v)| {
            Some(Rectangle::new(
                [(0.0, top(i)), ((*v)?, top(i) - bar * 0.9)],
                colour.filled(),
            ))
        });
        let figure_style = ("sans-serif", 10)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Center));
        let figures = values.iter().enumerate().filter_map(|(i, v)| {
            let v = (*v)?;
            Some(Text::new(
                format!("{v:.2}x"),
                (v + x_max * 0.005, top(i) - bar * 0.45),
                figure_style.clone(),
            ))
        });
        chart.draw_series(figures).map_err(draw_error)?;
        chart
            .draw_series(bars)
            .map_err(draw_error)?
            .label(name.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled()));
    }
    chart
        .draw_series(LineSeries::new(
            [(1.0, 0.0), (1.0, rows)],
            BLACK.stroke_width(1),
        ))
        .map_err(draw_error)?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(draw_error)?;
    root.present()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// A drawing error as an `anyhow` error (plotters' errors borrow the backend's).
fn draw_error<E: std::error::Error + Send + Sync + 'static>(
    e: DrawingAreaErrorKind<E>,
) -> anyhow::Error {
    anyhow::anyhow!("drawing the chart: {e}")
}
