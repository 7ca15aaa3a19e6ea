//! Series as the time charts draw them: thinned to a min/max envelope at about pixel
//! resolution (so an hour at 1 s intervals stays small), and cut where there is no sample for
//! a while (so a line never bridges a stretch without data).

use plotters::prelude::*;

/// Series longer than twice this are thinned to a min/max envelope of this many buckets.
pub(crate) const BUCKETS: usize = 700;

/// Thin a long series to a min/max envelope per bucket (points kept in order), which draws the
/// same at pixel resolution.
pub(crate) fn envelope(points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    if points.len() <= 2 * BUCKETS {
        return points;
    }
    let size = points.len().div_ceil(BUCKETS);
    let mut out = Vec::with_capacity(2 * BUCKETS + 2);
    for chunk in points.chunks(size) {
        let (mut lo, mut hi) = (0, 0);
        for (i, p) in chunk.iter().enumerate() {
            if p.1 < chunk[lo].1 {
                lo = i;
            }
            if p.1 > chunk[hi].1 {
                hi = i;
            }
        }
        let (a, b) = (lo.min(hi), lo.max(hi));
        out.push(chunk[a]);
        if b != a {
            out.push(chunk[b]);
        }
    }
    out
}

/// Intervals in a row without a sample after which a line is cut: a sparse operation still
/// reads as a line, one absent for a while (a phase without it) does not bridge the gap.
pub(crate) const GAP_INTERVALS: usize = 5;

/// A series cut into runs where it has no sample for [`GAP_INTERVALS`] intervals or more (a
/// run of one point is drawn as a dot).
#[derive(Debug, Default)]
pub(crate) struct Runs(Vec<Vec<(f64, f64)>>, usize);

impl Runs {
    pub(crate) fn push(&mut self, p: (f64, f64)) {
        self.1 = 0;
        match self.0.last_mut() {
            Some(run) => run.push(p),
            None => self.0.push(vec![p]),
        }
    }

    /// No sample in this interval: enough of them in a row, and the next point starts a new run.
    pub(crate) fn gap(&mut self) {
        self.1 += 1;
        if self.1 >= GAP_INTERVALS && self.0.last().is_some_and(|r| !r.is_empty()) {
            self.0.push(Vec::new());
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.iter().all(Vec::is_empty)
    }

    /// Each run thinned to its envelope; empty runs gone.
    pub(crate) fn thinned(self) -> Self {
        Runs(
            self.0
                .into_iter()
                .filter(|r| !r.is_empty())
                .map(envelope)
                .collect(),
            0,
        )
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.0.iter().flatten().map(|p| p.1)
    }

    pub(crate) fn draw<DB: DrawingBackend, CT: CoordTranslate<From = (f64, f64)>>(
        self,
        chart: &mut ChartContext<'_, DB, CT>,
        style: ShapeStyle,
    ) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        for run in self.0 {
            if let [p] = run[..] {
                let dot = ShapeStyle {
                    filled: true,
                    ..style
                };
                chart.draw_series(std::iter::once(Circle::new(p, style.stroke_width, dot)))?;
            } else {
                chart.draw_series(LineSeries::new(run, style))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_series_are_thinned_in_order() {
        let long: Vec<(f64, f64)> = (0..5000).map(|i| (i as f64, (i % 7) as f64)).collect();
        let thin = envelope(long);
        assert!(thin.len() <= 2 * BUCKETS && thin.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn runs_are_cut_at_gaps_and_thinned() {
        let mut runs = Runs::default();
        runs.gap();
        runs.push((1.0, 1.0));
        for _ in 0..GAP_INTERVALS {
            runs.gap();
        }
        runs.push((3.0, 2.0));
        runs.gap();
        runs.push((4.0, 2.0));
        runs.gap();
        let runs = runs.thinned();
        assert_eq!(runs.0, vec![vec![(1.0, 1.0)], vec![(3.0, 2.0), (4.0, 2.0)]]);
        assert_eq!(runs.values().collect::<Vec<_>>(), vec![1.0, 2.0, 2.0]);
    }
}
