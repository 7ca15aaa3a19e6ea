//! Per-phase comparison: the shift change of an otherwise quiet night is judged on its own,
//! so eight quiet hours cannot hide a regression in it. A phase of the base that the
//! candidate lacks is a regression (the signal was lost); the teardown is not compared (it is
//! outside the profile's objectives, and absent with `--no-teardown`).

use super::{CompareOptions, Regression, Row, Side, delivery_side, rows_of};
use crate::report::summary::{PhaseOperation, Summary};

/// The phase named so is never compared.
const NOT_COMPARED: &str = crate::profile::TEARDOWN;

fn phase_op_side(o: &PhaseOperation) -> Side<'_> {
    Side {
        count: o.count,
        samples: o.count,
        latency: &o.latency_ms,
        failed: o.errors,
        failures: format!("{} errors", o.errors),
    }
}

/// Rows `<phase>: <operation>` and `<phase>: delivery.<type>` for every phase of either run,
/// and a regression for each phase of the base that the candidate lacks.
pub(super) fn phase_rows(
    base: &Summary,
    cand: &Summary,
    opts: &CompareOptions,
) -> (Vec<Row>, Vec<Regression>) {
    let mut rows = Vec::new();
    let mut lost = Vec::new();
    for (name, b) in &base.phases {
        if name == NOT_COMPARED {
            continue;
        }
        let Some(c) = cand.phases.get(name) else {
            lost.push(Regression {
                what: format!("phase {name}"),
                detail: format!(
                    "in the base ({:.0}-{:.0} s), not in the candidate: it did not happen",
                    b.start_s, b.end_s
                ),
            });
            continue;
        };
        rows.extend(rows_of(
            &format!("{name}: "),
            &b.operations,
            &c.operations,
            phase_op_side,
            opts,
        ));
        rows.extend(rows_of(
            &format!("{name}: delivery."),
            &b.deliveries,
            &c.deliveries,
            delivery_side,
            opts,
        ));
    }
    (rows, lost)
}
