//! The peer benchmark's chart (docs/performance.md): CPU per request and the rate held, per
//! tool, from `scripts/bench-peers.sh`'s `results.csv` (medians, with min-max whiskers).
//!
//!     cargo bench -p rcload --bench peers_chart -- target/peers/results.csv docs/performance.svg
//!
//! A plain SVG drawn with plotters, as the reports' charts are.

use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::error::Error;

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// The tools in the table's order.
const TOOLS: [&str; 6] = ["wrk", "oha", "goose", "locust", "rcload", "rcload-exact"];

/// One figure over the repetitions: median, min, max.
#[derive(Debug, Clone, Copy)]
struct Spread {
    median: f64,
    min: f64,
    max: f64,
}

/// One row of results.csv: a tool in one mode.
#[derive(Debug, Clone)]
struct Row {
    asked_per_s: Option<f64>,
    req_per_s: Spread,
    cpu_us: Spread,
}

fn read(path: &str) -> Result<BTreeMap<(String, String), Row>, Box<dyn Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut lines = text.lines();
    let head: Vec<&str> = lines
        .next()
        .ok_or("empty results.csv")?
        .split(',')
        .collect();
    let col = |name: &str| {
        head.iter()
            .position(|h| *h == name)
            .ok_or_else(|| format!("{path}: no column {name}"))
    };
    let (tool, mode, asked) = (col("tool")?, col("mode")?, col("asked_per_s")?);
    let spread_cols = |k: &str| -> Result<[usize; 3], String> {
        Ok([
            col(&format!("{k}_median"))?,
            col(&format!("{k}_min"))?,
            col(&format!("{k}_max"))?,
        ])
    };
    let (rate, cpu) = (spread_cols("req_per_s")?, spread_cols("cpu_us_per_req")?);
    let mut out = BTreeMap::new();
    for (n, line) in lines.enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        let num = |i: usize| -> Result<f64, String> {
            f.get(i)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{path}:{}: column {} is not a number", n + 2, i + 1))
        };
        let spread = |c: [usize; 3]| -> Result<Spread, String> {
            Ok(Spread {
                median: num(c[0])?,
                min: num(c[1])?,
                max: num(c[2])?,
            })
        };
        let key = (
            f.get(tool).unwrap_or(&"").to_string(),
            f.get(mode).unwrap_or(&"").to_string(),
        );
        out.insert(
            key,
            Row {
                asked_per_s: num(asked).ok(),
                req_per_s: spread(rate)?,
                cpu_us: spread(cpu)?,
            },
        );
    }
    Ok(out)
}

/// Grouped bars with whiskers: for each tool, one bar per series (`None`: no bar).
fn bars(
    area: &Area<'_>,
    title: &str,
    y_label: &str,
    series: &[(&str, RGBColor, Vec<Option<Spread>>)],
    reference: Option<(f64, &str)>,
) -> Result<(), Box<dyn Error>> {
    let top = series
        .iter()
        .flat_map(|(_, _, v)| v.iter().flatten().map(|s| s.max))
        .chain(reference.map(|(y, _)| y))
        .fold(0.0, f64::max)
        * 1.15;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..TOOLS.len() as f64, 0.0..top.max(1.0))?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc(y_label)
        .draw()?;
    let width = 0.8 / series.len() as f64;
    for (s, (name, color, values)) in series.iter().enumerate() {
        for (t, v) in values.iter().enumerate() {
            let Some(v) = v else { continue };
            let x0 = t as f64 + 0.1 + width * s as f64;
            let x1 = x0 + width * 0.9;
            let mid = (x0 + x1) / 2.0;
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x0, 0.0), (x1, v.median)],
                color.filled(),
            )))?;
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(mid, v.min), (mid, v.max)],
                BLACK.stroke_width(1),
            )))?;
        }
        chart
            .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())?
            .label(*name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    if let Some((y, label)) = reference {
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, y), (TOOLS.len() as f64, y)],
                RED.stroke_width(1),
            )))?
            .label(label)
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 10, y)], RED));
    }
    for (t, name) in TOOLS.iter().enumerate() {
        chart.draw_series(std::iter::once(Text::new(
            name.to_string(),
            (t as f64 + 0.35, -top * 0.02),
            ("sans-serif", 13).into_font(),
        )))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()?;
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    // `cargo bench` adds `--bench`; the paths are the other arguments.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let (Some(input), Some(output)) = (args.first(), args.get(1)) else {
        return Err("usage: peers_chart RESULTS_CSV OUT_SVG".into());
    };
    let rows = read(input)?;
    let pick = |mode: &str, f: fn(&Row) -> Spread| -> Vec<Option<Spread>> {
        TOOLS
            .iter()
            .map(|t| rows.get(&(t.to_string(), mode.to_string())).map(f))
            .collect()
    };
    let asked = TOOLS
        .iter()
        .find_map(|t| rows.get(&(t.to_string(), "fixed".to_string()))?.asked_per_s);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 420)).into_drawing_area();
        root.fill(&WHITE)?;
        let (left, right) = root.split_horizontally(560);
        let fixed = asked.map_or("at the fixed rate".to_string(), |a| format!("at {a:.0}/s"));
        bars(
            &left,
            "CPU µs per request (generator, one core)",
            "µs per request",
            &[
                (
                    "at saturation",
                    RGBColor(70, 110, 170),
                    pick("saturation", |r| r.cpu_us),
                ),
                (
                    fixed.as_str(),
                    RGBColor(230, 140, 50),
                    pick("fixed", |r| r.cpu_us),
                ),
            ],
            None,
        )?;
        let asked_label = asked.map(|a| (a, "the rate asked"));
        bars(
            &right,
            "Rate held at the fixed rate",
            "requests/s at the server",
            &[(
                "held",
                RGBColor(90, 160, 90),
                pick("fixed", |r| r.req_per_s),
            )],
            asked_label,
        )?;
        root.present()?;
    }
    std::fs::write(output, svg).map_err(|e| format!("{output}: {e}"))?;
    println!("written: {output}");
    Ok(())
}
