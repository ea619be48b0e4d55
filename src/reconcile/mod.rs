//! Our clocks beside a helpdesk's own SLA record, instance by instance:
//! the pure comparison (no I/O, no clock reads), for the reconciliation
//! report, metrics and command.
//!
//! Each side is a list of [`Observed`] clock instances, named by our
//! metric and instance number (the helpdesk's side already mapped and
//! renumbered by its adapter, e.g. [`crate::sources::zendesk::sla::observed`]).
//! [`compare`] pairs them by `(metric, instance)` and says of each pair:
//!
//! * `agree`: start, fulfilment, breached or not, the breach instant and
//!   the time that counted all agree (instants and durations within the
//!   tolerance: Zendesk reports whole minutes);
//! * `differ`: with each [`Difference`] (ours and theirs);
//! * `missing_ours`: the helpdesk measured an instance under a target that
//!   we have no clock for (or only one without a target, or excluded);
//! * `missing_theirs`: we have a clock with a target that the helpdesk did
//!   not measure under one.
//!
//! What is compared only when both sides know it: the breach instant (when
//! both breached), and the time that counted (when both fulfilled: ours
//! the engine's elapsed time on the plan's calendar, theirs what the
//! helpdesk reported at fulfilment, in business minutes when its target was
//! in business hours). Paused time shows through the time that counted:
//! Zendesk reports how long a metric ran, not how long it was paused.

use serde::Serialize;

use crate::engine::{ClockState, ClockView};

/// What Zendesk reports to the minute is compared within this many
/// seconds.
pub const DEFAULT_TOLERANCE_SECONDS: i64 = 60;

/// One clock instance as one side saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Observed {
    /// Our metric's name.
    pub metric: String,
    /// 1 and on, in our numbering.
    pub instance: u32,
    pub start: i64,
    pub fulfilled_at: Option<i64>,
    pub breached_at: Option<i64>,
    /// The time that counted, once fulfilled.
    pub elapsed_seconds: Option<i64>,
}

/// How the two sides of one clock instance compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Agree,
    Differ,
    MissingOurs,
    MissingTheirs,
}

impl Outcome {
    /// The label value (`agree`, `differ`, `missing_ours`, `missing_theirs`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agree => "agree",
            Self::Differ => "differ",
            Self::MissingOurs => "missing_ours",
            Self::MissingTheirs => "missing_theirs",
        }
    }
}

/// What differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Aspect {
    Start,
    Fulfilment,
    /// Breached on one side only (values: the breach instants, or none).
    Breached,
    BreachedAt,
    Elapsed,
}

/// One aspect that differs, with each side's value (an instant or seconds;
/// `None`: that side has none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    pub aspect: Aspect,
    pub ours: Option<i64>,
    pub theirs: Option<i64>,
}

/// One clock instance compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comparison {
    pub metric: String,
    pub instance: u32,
    pub outcome: Outcome,
    pub differences: Vec<Difference>,
}

/// Our side from the engine's clocks: every clock with a target (clocks
/// with no target or excluded are no SLA to compare).
pub fn ours_from_clocks(views: &[ClockView<'_>]) -> Vec<Observed> {
    views
        .iter()
        .filter(|c| !matches!(c.state, ClockState::NoTarget | ClockState::Excluded))
        .map(|c| Observed {
            metric: c.metric.to_string(),
            instance: c.instance,
            start: c.start,
            fulfilled_at: c.fulfilled_at,
            breached_at: c.breached_at,
            elapsed_seconds: c.fulfilled_at.map(|_| c.elapsed_seconds),
        })
        .collect()
}

fn differences(ours: &Observed, theirs: &Observed, tolerance: i64) -> Vec<Difference> {
    let near = |a: i64, b: i64| (a - b).abs() <= tolerance;
    let mut out = Vec::new();
    let mut push = |aspect, ours: Option<i64>, theirs: Option<i64>| {
        out.push(Difference {
            aspect,
            ours,
            theirs,
        })
    };
    if !near(ours.start, theirs.start) {
        push(Aspect::Start, Some(ours.start), Some(theirs.start));
    }
    match (ours.fulfilled_at, theirs.fulfilled_at) {
        (Some(a), Some(b)) if near(a, b) => {}
        (None, None) => {}
        (a, b) => push(Aspect::Fulfilment, a, b),
    }
    match (ours.breached_at, theirs.breached_at) {
        (Some(a), Some(b)) if !near(a, b) => push(Aspect::BreachedAt, Some(a), Some(b)),
        (Some(_), Some(_)) | (None, None) => {}
        (a, b) => push(Aspect::Breached, a, b),
    }
    if let (Some(a), Some(b)) = (ours.elapsed_seconds, theirs.elapsed_seconds) {
        if !near(a, b) {
            push(Aspect::Elapsed, Some(a), Some(b));
        }
    }
    out
}

/// Every clock instance of either side, paired by `(metric, instance)` and
/// compared, in that order.
pub fn compare(ours: &[Observed], theirs: &[Observed], tolerance: i64) -> Vec<Comparison> {
    let mut keys: Vec<(&str, u32)> = ours
        .iter()
        .chain(theirs)
        .map(|o| (o.metric.as_str(), o.instance))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter()
        .map(|(metric, instance)| {
            let find = |side: &'_ [Observed]| {
                side.iter()
                    .find(|o| o.metric == metric && o.instance == instance)
                    .cloned()
            };
            let (outcome, differences) = match (find(ours), find(theirs)) {
                (Some(a), Some(b)) => {
                    let d = differences(&a, &b, tolerance);
                    let outcome = if d.is_empty() {
                        Outcome::Agree
                    } else {
                        Outcome::Differ
                    };
                    (outcome, d)
                }
                (Some(_), None) => (Outcome::MissingTheirs, Vec::new()),
                _ => (Outcome::MissingOurs, Vec::new()),
            };
            Comparison {
                metric: metric.to_string(),
                instance,
                outcome,
                differences,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(metric: &str, instance: u32, start: i64) -> Observed {
        Observed {
            metric: metric.into(),
            instance,
            start,
            fulfilled_at: None,
            breached_at: None,
            elapsed_seconds: None,
        }
    }

    #[test]
    fn equal_sides_agree_within_the_tolerance() {
        let ours = Observed {
            fulfilled_at: Some(1_000),
            elapsed_seconds: Some(900),
            ..clock("first_response", 1, 100)
        };
        // Zendesk to the minute: 40 s off on each instant.
        let theirs = Observed {
            start: 60,
            fulfilled_at: Some(1_040),
            elapsed_seconds: Some(960),
            ..ours.clone()
        };
        let c = compare(&[ours], &[theirs], DEFAULT_TOLERANCE_SECONDS);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].outcome, Outcome::Agree, "{c:?}");
        assert!(c[0].differences.is_empty());
    }

    #[test]
    fn each_aspect_that_differs_is_named_with_both_values() {
        let ours = Observed {
            fulfilled_at: Some(10_000),
            breached_at: Some(7_200),
            elapsed_seconds: Some(9_000),
            ..clock("resolution", 1, 0)
        };
        let theirs = Observed {
            start: 600,
            fulfilled_at: Some(10_000),
            breached_at: None,
            elapsed_seconds: Some(5_400),
            ..clock("resolution", 1, 0)
        };
        let c = compare(&[ours], &[theirs], DEFAULT_TOLERANCE_SECONDS);
        assert_eq!(c[0].outcome, Outcome::Differ);
        assert_eq!(
            c[0].differences,
            vec![
                Difference {
                    aspect: Aspect::Start,
                    ours: Some(0),
                    theirs: Some(600)
                },
                Difference {
                    aspect: Aspect::Breached,
                    ours: Some(7_200),
                    theirs: None
                },
                Difference {
                    aspect: Aspect::Elapsed,
                    ours: Some(9_000),
                    theirs: Some(5_400)
                },
            ]
        );
        // Both breached, at instants minutes apart; one side still open.
        let a = Observed {
            breached_at: Some(3_600),
            ..clock("first_response", 1, 0)
        };
        let b = Observed {
            breached_at: Some(7_200),
            fulfilled_at: Some(8_000),
            ..clock("first_response", 1, 0)
        };
        let c = compare(&[a], &[b], DEFAULT_TOLERANCE_SECONDS);
        let aspects: Vec<Aspect> = c[0].differences.iter().map(|d| d.aspect).collect();
        assert_eq!(aspects, vec![Aspect::Fulfilment, Aspect::BreachedAt]);
    }

    #[test]
    fn an_instance_on_one_side_only_is_missing_on_the_other() {
        let ours = [clock("first_response", 1, 0), clock("resolution", 2, 500)];
        let theirs = [clock("first_response", 1, 0), clock("next_reply", 1, 300)];
        let c = compare(&ours, &theirs, DEFAULT_TOLERANCE_SECONDS);
        let got: Vec<(&str, u32, &str)> = c
            .iter()
            .map(|c| (c.metric.as_str(), c.instance, c.outcome.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("first_response", 1, "agree"),
                ("next_reply", 1, "missing_ours"),
                ("resolution", 2, "missing_theirs"),
            ]
        );
    }
}
