//! Renders [`Figures`] and [`Health`] as OpenMetrics text through the
//! Prometheus client library, and that text as Prometheus text format 0.0.4
//! for scrapers that do not ask for OpenMetrics.

use std::collections::HashMap;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::exemplar::Exemplar;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::figures::{budget_remaining, burn_rate, Figures, SOON, WINDOWS};
use super::health::Health;
use super::live::FULFIL_BUCKETS;
use super::names::{self, Kind, Metric};
use crate::policy::Policy;
use crate::reconcile::Outcome;

/// The rendered exposition, in both formats.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    pub openmetrics: String,
    pub prometheus: String,
}

/// Everything one render reads.
#[derive(Debug)]
struct Snapshot {
    names: Names,
    figures: Figures,
    health: Health,
}

/// Policy names by index, so the collector owns what it prints.
#[derive(Debug)]
struct Names {
    plans: Vec<String>,
    severities: Vec<String>,
    metrics: Vec<String>,
}

type Labels = Vec<(&'static str, String)>;

fn gauge(
    enc: &mut DescriptorEncoder,
    metric: &Metric,
    rows: impl IntoIterator<Item = (Labels, f64)>,
) -> Result<(), std::fmt::Error> {
    debug_assert_eq!(metric.kind, Kind::Gauge, "{metric}");
    let mut m = enc.encode_descriptor(metric.family(), metric.help, None, MetricType::Gauge)?;
    for (labels, v) in rows {
        if labels.is_empty() {
            // A single unlabelled sample: `name 1`, not `name{} 1`.
            return ConstGauge::new(v).encode(m);
        }
        let fam = m.encode_family(&labels)?;
        ConstGauge::new(v).encode(fam)?;
    }
    Ok(())
}

/// Described by its family name, without `_total`: the client adds it to
/// the samples.
fn counter(
    enc: &mut DescriptorEncoder,
    metric: &Metric,
    rows: impl IntoIterator<Item = (Labels, u64)>,
) -> Result<(), std::fmt::Error> {
    debug_assert_eq!(metric.kind, Kind::Counter, "{metric}");
    let mut m = enc.encode_descriptor(metric.family(), metric.help, None, MetricType::Counter)?;
    for (labels, v) in rows {
        let fam = m.encode_family(&labels)?;
        ConstCounter::new(v).encode(fam)?;
    }
    Ok(())
}

fn inf_or(v: Option<i64>) -> f64 {
    v.map_or(f64::INFINITY, |v| v as f64)
}

impl Collector for Snapshot {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        // An instance standing by for every source (another holds their
        // leases) serves no figures: they are the holder's.
        let h = &self.health;
        let standing_by = h.instance.is_some() && !h.sources.values().any(|s| s.is_served());
        if !standing_by {
            self.encode_figures(&mut enc)?;
        }
        self.encode_health(&mut enc)
    }
}

impl Snapshot {
    /// The SLA figures of the clocks this instance holds.
    fn encode_figures(&self, enc: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let n = &self.names;
        let f = &self.figures;
        let base = |s: &super::figures::SeriesFigures| -> Labels {
            vec![
                ("plan", n.plans[s.key.plan].clone()),
                ("priority", n.severities[s.key.severity].clone()),
                ("metric", n.metrics[s.key.metric].clone()),
            ]
        };
        let with = |mut l: Labels, k: &'static str, v: &str| {
            l.push((k, v.to_string()));
            l
        };

        gauge(
            enc,
            &names::CLOCKS_OPEN,
            f.series.iter().flat_map(|s| {
                [
                    (with(base(s), "state", "active"), s.active as f64),
                    (with(base(s), "state", "paused"), s.paused as f64),
                ]
            }),
        )?;
        counter(
            enc,
            &names::CLOCKS_MET_TOTAL,
            f.series.iter().map(|s| (base(s), s.met_total)),
        )?;
        counter(
            enc,
            &names::CLOCKS_BREACHED_TOTAL,
            f.series.iter().map(|s| (base(s), s.breached_total)),
        )?;
        counter(
            enc,
            &names::CLOCKS_EXCLUDED_TOTAL,
            f.series.iter().map(|s| (base(s), s.excluded_total)),
        )?;
        gauge(
            enc,
            &names::CLOCKS_DECIDED,
            f.series.iter().flat_map(|s| {
                WINDOWS.iter().enumerate().map(move |(w, name)| {
                    (with(base(s), "window", name), s.windows[w].decided as f64)
                })
            }),
        )?;
        gauge(
            enc,
            &names::ATTAINMENT_RATIO,
            f.series.iter().flat_map(|s| {
                WINDOWS.iter().enumerate().map(move |(w, name)| {
                    (with(base(s), "window", name), s.windows[w].attainment())
                })
            }),
        )?;
        gauge(
            enc,
            &names::CLOCKS_BREACHING_SOON,
            f.series.iter().flat_map(|s| {
                SOON.iter()
                    .enumerate()
                    .map(move |(i, (name, _))| (with(base(s), "window", name), s.soon[i] as f64))
            }),
        )?;
        gauge(
            enc,
            &names::NEXT_BREACH_TIMESTAMP_SECONDS,
            f.series.iter().map(|s| (base(s), inf_or(s.next_due))),
        )?;
        gauge(
            enc,
            &names::NEXT_BREACH_BUSINESS_SECONDS,
            f.series
                .iter()
                .map(|s| (base(s), inf_or(s.next_business_seconds))),
        )?;
        {
            let h = &names::FULFILMENT_BUSINESS_SECONDS;
            let mut m = enc.encode_descriptor(h.family(), h.help, None, MetricType::Histogram)?;
            for s in &f.series {
                let labels = base(s);
                let mut fam = m.encode_family(&labels)?;
                let mut buckets: Vec<(f64, u64)> = FULFIL_BUCKETS
                    .iter()
                    .zip(s.buckets.iter())
                    .map(|(&b, &c)| (b, c))
                    .collect();
                buckets.push((f64::INFINITY, s.buckets[FULFIL_BUCKETS.len()]));
                let count = s.buckets.iter().sum();
                // Exemplars are added to the text afterwards (see
                // `add_exemplars`): the client library builds them only
                // from live observations.
                let none: Option<&HashMap<usize, Exemplar<Labels, f64>>> = None;
                fam.encode_histogram(s.fulfil_sum, count, &buckets, none)?;
            }
        }

        let plan_label = |p: usize| -> Labels { vec![("plan", n.plans[p].clone())] };
        let with_objective = || f.plans.iter().filter_map(|p| Some((p, p.objective?)));
        gauge(
            enc,
            &names::OBJECTIVE_RATIO,
            with_objective().map(|(p, o)| (plan_label(p.plan), o)),
        )?;
        gauge(
            enc,
            &names::PLAN_ATTAINMENT_RATIO,
            f.plans.iter().flat_map(|p| {
                WINDOWS.iter().enumerate().map(move |(w, name)| {
                    (
                        with(plan_label(p.plan), "window", name),
                        p.windows[w].attainment(),
                    )
                })
            }),
        )?;
        gauge(
            enc,
            &names::PLAN_CLOCKS_DECIDED,
            f.plans.iter().flat_map(|p| {
                WINDOWS.iter().enumerate().map(move |(w, name)| {
                    (
                        with(plan_label(p.plan), "window", name),
                        p.windows[w].decided as f64,
                    )
                })
            }),
        )?;
        gauge(
            enc,
            &names::ERROR_BUDGET_REMAINING_RATIO,
            with_objective().flat_map(|(p, o)| {
                WINDOWS.iter().enumerate().map(move |(w, name)| {
                    (
                        with(plan_label(p.plan), "window", name),
                        budget_remaining(&p.windows[w], o),
                    )
                })
            }),
        )?;
        gauge(
            enc,
            &names::ERROR_BUDGET_BURN_RATE,
            with_objective().flat_map(|(p, o)| {
                WINDOWS.iter().enumerate().map(move |(w, name)| {
                    (
                        with(plan_label(p.plan), "window", name),
                        burn_rate(&p.windows[w], o),
                    )
                })
            }),
        )?;
        let org_label = |o: &super::figures::OrgFigures| -> Labels {
            vec![("plan", n.plans[o.plan].clone()), ("org", o.org.clone())]
        };
        if !f.orgs.is_empty() {
            gauge(
                enc,
                &names::ORG_ATTAINMENT_RATIO,
                f.orgs.iter().flat_map(|o| {
                    WINDOWS.iter().enumerate().map(move |(w, name)| {
                        (
                            with(org_label(o), "window", name),
                            o.windows[w].attainment(),
                        )
                    })
                }),
            )?;
            gauge(
                enc,
                &names::ORG_CLOCKS_DECIDED,
                f.orgs.iter().flat_map(|o| {
                    WINDOWS.iter().enumerate().map(move |(w, name)| {
                        (
                            with(org_label(o), "window", name),
                            o.windows[w].decided as f64,
                        )
                    })
                }),
            )?;
        }
        let with_credits = || f.plans.iter().filter_map(|p| Some((p, p.credits?)));
        gauge(
            enc,
            &names::CREDIT_CUSTOMERS,
            with_credits().map(|(p, (c, _))| (plan_label(p.plan), c as f64)),
        )?;
        gauge(
            enc,
            &names::CREDIT_OWED_RATIO,
            with_credits().map(|(p, (_, s))| (plan_label(p.plan), s)),
        )?;
        gauge(
            enc,
            &names::CLOCKS_UNASSIGNED,
            f.unassigned
                .iter()
                .map(|(m, &c)| (vec![("metric", m.clone())], c as f64)),
        )?;

        Ok(())
    }

    /// The exporter's own health: per source, and its config.
    fn encode_health(&self, enc: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let h = &self.health;
        let with = |mut l: Labels, k: &'static str, v: &str| {
            l.push((k, v.to_string()));
            l
        };
        gauge(
            enc,
            &names::BUILD_INFO,
            [(
                vec![("version", env!("CARGO_PKG_VERSION").to_string())],
                1.0,
            )],
        )?;
        let src = |name: &str| -> Labels { vec![("source", name.to_string())] };
        // A source another instance holds the lease of is that one's to
        // report: summed over instances, each source counts once.
        let served = || h.sources.iter().filter(|(_, s)| s.is_served());
        if let Some(instance) = &h.instance {
            gauge(
                enc,
                &names::SOURCE_OWNER,
                h.sources.iter().map(|(k, s)| {
                    (
                        with(src(k), "instance", instance),
                        if s.is_served() { 1.0 } else { 0.0 },
                    )
                }),
            )?;
        }
        gauge(
            enc,
            &names::SOURCE_UP,
            served().map(|(k, s)| (src(k), if s.up { 1.0 } else { 0.0 })),
        )?;
        gauge(
            enc,
            &names::SOURCE_LAST_SUCCESS_TIMESTAMP_SECONDS,
            served().map(|(k, s)| (src(k), s.last_success as f64)),
        )?;
        gauge(
            enc,
            &names::SOURCE_POLL_DURATION_SECONDS,
            served().map(|(k, s)| (src(k), s.poll_duration_seconds)),
        )?;
        counter(
            enc,
            &names::SOURCE_REQUESTS_TOTAL,
            served().flat_map(|(k, s)| {
                s.requests
                    .by_code
                    .iter()
                    .map(move |(code, &c)| (with(src(k), "code", code), c))
            }),
        )?;
        counter(
            enc,
            &names::SOURCE_RATE_LIMITED_TOTAL,
            served().map(|(k, s)| (src(k), s.rate_limited)),
        )?;
        gauge(
            enc,
            &names::SOURCE_RATE_LIMIT_REMAINING,
            served().map(|(k, s)| {
                (
                    src(k),
                    s.requests.rate_limit_remaining.map_or(-1.0, |v| v as f64),
                )
            }),
        )?;
        counter(
            enc,
            &names::SOURCE_RETRIES_TOTAL,
            served().map(|(k, s)| (src(k), s.retries)),
        )?;
        counter(
            enc,
            &names::SOURCE_PARSE_ERRORS_TOTAL,
            served().map(|(k, s)| (src(k), s.requests.parse_errors)),
        )?;
        counter(
            enc,
            &names::SOURCE_IGNORED_EVENTS_TOTAL,
            served().flat_map(|(k, s)| {
                s.requests
                    .ignored_events
                    .iter()
                    .map(move |(kind, &c)| (with(src(k), "event_type", kind), c))
            }),
        )?;
        counter(
            enc,
            &names::SOURCE_UNMAPPED_VALUES_TOTAL,
            served().flat_map(|(k, s)| {
                s.requests
                    .unmapped
                    .iter()
                    .map(move |(field, &c)| (with(src(k), "field", field), c))
            }),
        )?;
        counter(
            enc,
            &names::SOURCE_SAME_SECOND_PAGES_TOTAL,
            served().map(|(k, s)| (src(k), s.requests.same_second_pages)),
        )?;
        gauge(
            enc,
            &names::SOURCE_INCONSISTENT_TICKETS,
            served().map(|(k, s)| (src(k), s.inconsistent_tickets as f64)),
        )?;
        gauge(
            enc,
            &names::SOURCE_APPROXIMATED_TICKETS,
            served().map(|(k, s)| (src(k), s.approximated_tickets as f64)),
        )?;
        let reconciled = || served().filter_map(|(k, s)| s.reconciled.as_ref().map(|r| (k, r)));
        counter(
            enc,
            &names::RECONCILE_CLOCKS_TOTAL,
            reconciled().flat_map(|(k, r)| {
                r.metrics.iter().flat_map(move |m| {
                    Outcome::ALL.iter().map(move |o| {
                        let labels = with(with(src(k), "metric", m), "outcome", o.as_str());
                        let n = r.counts.get(&(m.clone(), *o)).copied().unwrap_or(0);
                        (labels, n)
                    })
                })
            }),
        )?;
        gauge(
            enc,
            &names::RECONCILE_AGREEMENT_RATIO,
            reconciled().flat_map(|(k, r)| {
                r.metrics
                    .iter()
                    .map(move |m| (with(src(k), "metric", m), r.agreement(m)))
            }),
        )?;
        counter(
            enc,
            &names::SOURCE_RECORDS_INGESTED_TOTAL,
            served().map(|(k, s)| (src(k), s.records)),
        )?;
        counter(
            enc,
            &names::SOURCE_TICKETS_CHANGED_TOTAL,
            served().map(|(k, s)| (src(k), s.tickets_changed)),
        )?;
        gauge(
            enc,
            &names::STORED_TICKETS,
            served().map(|(k, s)| (src(k), s.stored_tickets as f64)),
        )?;
        gauge(
            enc,
            &names::CONFIG_LAST_RELOAD_SUCCESSFUL,
            [(Vec::new(), if h.config_ok { 1.0 } else { 0.0 })],
        )?;
        gauge(
            enc,
            &names::CONFIG_LAST_RELOAD_SUCCESS_TIMESTAMP_SECONDS,
            [(Vec::new(), h.config_loaded_at as f64)],
        )?;
        gauge(
            enc,
            &names::LAST_RECOMPUTE_TIMESTAMP_SECONDS,
            [(Vec::new(), h.computed_at as f64)],
        )?;
        Ok(())
    }
}

/// Renders the figures and health in both formats.
pub fn render(policy: &Policy, figures: Figures, health: Health) -> Rendered {
    let names = Names {
        plans: policy.plans.iter().map(|p| p.name.clone()).collect(),
        severities: policy.severities.clone(),
        metrics: policy.metrics.iter().map(|m| m.name.clone()).collect(),
    };
    // Histogram bucket lines come out in series order, then bucket order.
    let exemplars: Vec<Option<(String, f64)>> = figures
        .series
        .iter()
        .flat_map(|s| s.exemplars.iter().cloned())
        .collect();
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Snapshot {
        names,
        figures,
        health,
    }));
    let mut openmetrics = String::with_capacity(64 * 1024);
    // Writing to a String cannot fail; an encoder error would be a bug in
    // a label value, and an empty exposition is then the honest answer.
    if prometheus_client::encoding::text::encode(&mut openmetrics, &registry).is_err() {
        openmetrics = "# EOF\n".to_string();
    }
    let openmetrics = add_exemplars(&openmetrics, &exemplars);
    let prometheus = to_prometheus_text(&openmetrics);
    Rendered {
        openmetrics,
        prometheus,
    }
}

/// Appends ` # {ticket_id="…"} value` to the n-th histogram bucket line.
fn add_exemplars(om: &str, exemplars: &[Option<(String, f64)>]) -> String {
    let mut out = String::with_capacity(om.len() + exemplars.len() * 32);
    let mut n = 0;
    for line in om.lines() {
        out.push_str(line);
        let bucket = line
            .strip_prefix(names::FULFILMENT_BUSINESS_SECONDS.name)
            .is_some_and(|rest| rest.starts_with("_bucket{"));
        if bucket {
            if let Some(Some((id, v))) = exemplars.get(n) {
                out.push_str(" # {ticket_id=\"");
                for ch in id.chars() {
                    match ch {
                        '\\' => out.push_str("\\\\"),
                        '"' => out.push_str("\\\""),
                        '\n' => out.push_str("\\n"),
                        c => out.push(c),
                    }
                }
                out.push_str("\"} ");
                out.push_str(&format!("{v:?}"));
            }
            n += 1;
        }
        out.push('\n');
    }
    out
}

/// OpenMetrics text → Prometheus text format 0.0.4: counters' metadata
/// names carry `_total`, exemplars, `# UNIT` and `# EOF` go.
pub fn to_prometheus_text(om: &str) -> String {
    let mut out = String::with_capacity(om.len());
    let mut counters: Vec<&str> = Vec::new();
    for line in om.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            if let Some(name) = rest.strip_suffix(" counter") {
                counters.push(name);
            }
        }
    }
    for line in om.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if let Some(rest) = line
            .strip_prefix("# HELP ")
            .map(|r| ("# HELP ", r))
            .or_else(|| line.strip_prefix("# TYPE ").map(|r| ("# TYPE ", r)))
        {
            let (prefix, body) = rest;
            let (name, tail) = body.split_once(' ').unwrap_or((body, ""));
            if counters.contains(&name) {
                out.push_str(prefix);
                out.push_str(name);
                out.push_str("_total ");
                out.push_str(tail);
                out.push('\n');
                continue;
            }
            out.push_str(line);
            out.push('\n');
            continue;
        }
        // A sample: drop an exemplar (` # {...} value`), which 0.0.4 lacks.
        let sample = match line.find(" # {") {
            Some(i) => &line[..i],
            None => line,
        };
        out.push_str(sample);
        out.push('\n');
    }
    out
}
