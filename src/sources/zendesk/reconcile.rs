//! How our metrics are compared with Zendesk's own (its ticket metric
//! events, read by [`super::sla`]): which Zendesk metric each of ours
//! corresponds to, by the config's `reconcile:` or by default, and the
//! source's entry in the reconciliation (`RECONCILER`).

use std::collections::BTreeMap;

use super::config::{ZendeskConfig, ZendeskMetric};
use super::sla::{observed, Instances, Reconciled, FIELD_PREFIX};
use crate::policy::spec::Status;

/// The Zendesk metric one of our metrics corresponds to by default: the
/// correspondence `import-zendesk-policies` writes, read backwards.
/// first_response and next_reply: `reply_time`; periodic_update:
/// `periodic_update_time`, or `pausable_update_time` when it pauses;
/// resolution pausing on pending alone: `requester_wait_time`, on pending
/// and hold: `agent_work_time`; anything else: none.
pub fn default_metric(metric: &crate::policy::model::Metric) -> ZendeskMetric {
    use crate::policy::spec::MetricKindSpec as K;
    let pauses = |statuses: &[Status]| {
        metric.pause_on.len() == statuses.len() && statuses.iter().all(|s| metric.pauses_on(*s))
    };
    match metric.kind {
        K::FirstResponse | K::NextReply => ZendeskMetric::ReplyTime,
        K::PeriodicUpdate if metric.pause_on.is_empty() => ZendeskMetric::PeriodicUpdateTime,
        K::PeriodicUpdate => ZendeskMetric::PausableUpdateTime,
        K::Resolution if pauses(&[Status::Pending]) => ZendeskMetric::RequesterWaitTime,
        K::Resolution if pauses(&[Status::Pending, Status::Hold]) => ZendeskMetric::AgentWorkTime,
        K::Resolution | K::TierResponse => ZendeskMetric::None,
    }
}

/// Each of `policy`'s metrics with the Zendesk metric it is compared
/// with under `reconcile` (the config's choice, else [`default_metric`]),
/// leaving out those compared with nothing. `reply_time` is the first
/// reply for a metric of kind first_response, the next replies for one of
/// kind next_reply.
pub fn reconcile_mapping(
    policy: &crate::policy::Policy,
    reconcile: &BTreeMap<String, ZendeskMetric>,
) -> Vec<Reconciled> {
    use crate::policy::spec::MetricKindSpec as K;
    policy
        .metrics
        .iter()
        .filter_map(|m| {
            let z = reconcile
                .get(&m.name)
                .copied()
                .unwrap_or_else(|| default_metric(m));
            let zendesk = z.name()?;
            let instances = match (z, m.kind) {
                (ZendeskMetric::ReplyTime, K::FirstResponse) => Instances::First,
                (ZendeskMetric::ReplyTime, K::NextReply) => Instances::AfterFirst,
                _ => Instances::All,
            };
            Some(Reconciled {
                metric: m.name.clone(),
                zendesk,
                instances,
            })
        })
        .collect()
}

/// Zendesk's side of the reconciliation, for the registry
/// ([`super::KIND`]).
pub(super) const RECONCILER: crate::sources::Reconciler = crate::sources::Reconciler {
    check: crate::sources::check_reconcile_keys,
    enabled: |spec| {
        let on = spec
            .settings
            .get("ticket_metric_events")
            .and_then(serde_yaml_ng::Value::as_bool)
            .unwrap_or(false);
        if on {
            Ok(())
        } else {
            Err("set `ticket_metric_events: true` under the source to read Zendesk's own SLA record (docs/zendesk.md), let the daemon poll it, then reconcile".to_string())
        }
    },
    metrics: |spec, policy| {
        let chosen = ZendeskConfig::from_spec(spec)
            .map(|c| c.reconcile)
            .unwrap_or_default();
        reconcile_mapping(policy, &chosen)
            .into_iter()
            .map(|m| m.metric)
            .collect()
    },
    theirs: |spec, policy| {
        let config = ZendeskConfig::from_spec(spec).map_err(|e| e.to_string())?;
        Ok(crate::sources::their_side(
            reconcile_mapping(policy, &config.reconcile),
            |m| &m.metric,
            |ticket, m| {
                ticket
                    .fields
                    .contains_key(&format!("{}{}", FIELD_PREFIX, m.zendesk))
            },
            |ticket, mapping| observed(&ticket.fields, mapping),
        ))
    },
};
