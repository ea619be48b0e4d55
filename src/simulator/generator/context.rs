//! What a ticket's lifecycle draws from: the policy's severities with the
//! priority values that map to them, and the generator's rates.

use super::Id;
use crate::policy::model::Policy;
use crate::simulator::Rng;

/// Zendesk's own priority values.
const ZENDESK_PRIORITIES: [&str; 4] = ["urgent", "high", "normal", "low"];

/// The priority values of one severity: Zendesk names first.
pub(super) struct SeverityValues {
    weight: f64,
    zendesk: Vec<String>,
    other: Vec<String>,
}

pub(super) fn severity_values(policy: &Policy) -> Vec<SeverityValues> {
    let n = policy.severities.len();
    if n == 0 {
        return ZENDESK_PRIORITIES
            .iter()
            .zip([1.0, 3.0, 6.0, 3.0])
            .map(|(p, weight)| SeverityValues {
                weight,
                zendesk: vec![(*p).to_string()],
                other: Vec::new(),
            })
            .collect();
    }
    (0..n)
        .map(|s| {
            let mut values: Vec<String> = policy
                .priorities
                .iter()
                .filter(|(_, &v)| v == s)
                .map(|(k, _)| k.clone())
                .collect();
            values.sort();
            let (zendesk, other) = values
                .into_iter()
                .partition(|v| ZENDESK_PRIORITIES.contains(&v.as_str()));
            let weight = if s == 0 {
                1.0
            } else if s == n - 1 {
                3.0
            } else {
                6.0
            };
            SeverityValues {
                weight,
                zendesk,
                other,
            }
        })
        .collect()
}

pub(super) fn pick_priority(rng: &mut Rng, values: &[SeverityValues]) -> Option<String> {
    if rng.chance(0.04) {
        return None;
    }
    let weights: Vec<f64> = values.iter().map(|v| v.weight).collect();
    let v = values.get(rng.weighted(&weights))?;
    let list = if !v.zendesk.is_empty() && (v.other.is_empty() || rng.chance(0.85)) {
        &v.zendesk
    } else {
        &v.other
    };
    list.get(rng.index(list.len())).cloned()
}

pub(super) struct Ctx<'a> {
    pub(super) policy: &'a Policy,
    pub(super) severities: Vec<SeverityValues>,
    pub(super) first_response: Option<usize>,
    pub(super) follow_up: Option<usize>,
    pub(super) end: i64,
    pub(super) deletion_rate: f64,
    pub(super) custom_status_rate: f64,
    /// [`GeneratorOptions::prompt_updates`](super::GeneratorOptions::prompt_updates).
    pub(super) prompt_updates: bool,
    pub(super) severity_change_rate: f64,
    /// The policy's `severity_field`, when it is a ticket field id.
    pub(super) severity_field: Option<Id>,
}
