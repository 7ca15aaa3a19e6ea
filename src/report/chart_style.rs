//! The look shared by every chart rcload draws (the run report's and the capacity report's):
//! one palette, one font, the same greys and finding colours, the same number formats.

use plotters::prelude::*;

pub(crate) const FONT: &str = "sans-serif";

const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
/// Phase shading, alternating.
pub(crate) const BAND_FILLS: [RGBColor; 2] = [RGBColor(232, 240, 252), RGBColor(252, 244, 228)];
pub(crate) const BAND_TEXT: RGBColor = RGBColor(80, 80, 80);
/// Grid lines.
pub(crate) const LIGHT: RGBColor = RGBColor(235, 235, 235);
/// Legend borders.
pub(crate) const BORDER: RGBColor = RGBColor(200, 200, 200);
pub(crate) const GREY: RGBColor = RGBColor(90, 90, 90);
/// Drops, and anything that marks a failure (the capacity knee).
pub(crate) const DROP_COLOR: RGBColor = RGBColor(214, 39, 40);
pub(crate) const DISCONNECT_COLOR: RGBColor = RGBColor(148, 103, 189);
pub(crate) const MISSED_COLOR: RGBColor = RGBColor(255, 127, 14);

/// The `i`-th series colour.
pub(crate) fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Milliseconds: whole from 1 ms, else one or two decimals.
pub(crate) fn fmt_ms(v: &f64) -> String {
    let v = *v;
    if v >= 1.0 {
        format!("{v:.0}")
    } else if v >= 0.1 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

pub(crate) fn fmt_num(v: &f64) -> String {
    let v = *v;
    if v.abs() >= 100.0 || (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Counts are whole: no label between them.
pub(crate) fn fmt_int(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        String::new()
    }
}

pub(crate) fn text(size: u32, c: &'static RGBColor) -> TextStyle<'static> {
    (FONT, size).into_font().color(c)
}
