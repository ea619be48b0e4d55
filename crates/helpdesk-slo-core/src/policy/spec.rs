//! The YAML form of the SLA policy: severities, metrics, plans, credit tables
//! and exclusions (calendars are in [`crate::calendar::spec`]).
//!
//! Every scalar is checked while it is read, and every reference to a name
//! ([`Ref`]) is checked against the names the file defines, so an error names
//! the exact line and key. Relations between sections (a plan's targets for a
//! metric its kind cannot use, plans whose matches overlap) are checked after
//! reading, in [`super::Config::from_yaml_with`].

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::names::{CalendarKind, CreditKind, MetricKind, PlanKind, Ref, SeverityKind};
use crate::calendar::spec::CalendarSpec;
use crate::calendar::BusinessDuration;
use crate::de::parse_str;

/// The whole config file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigSpec {
    pub calendars: BTreeMap<String, CalendarSpec>,
    /// Most severe first.
    #[serde(default)]
    pub severities: Vec<SeveritySpec>,
    /// The severity of a ticket whose priority is empty or unmapped.
    #[serde(default)]
    pub default_severity: Option<Ref<SeverityKind>>,
    /// A ticket field that holds the severity the support team assigned (its
    /// value at creation is read from the ticket's `fields`; adapters turn
    /// later changes of it into `severity` events).
    #[serde(default)]
    pub severity_field: Option<String>,
    #[serde(default)]
    pub metrics: BTreeMap<String, MetricSpec>,
    #[serde(default)]
    pub plans: BTreeMap<String, PlanSpec>,
    #[serde(default)]
    pub credits: BTreeMap<String, CreditSpec>,
    #[serde(default)]
    pub exclusions: Vec<ExclusionSpec>,
    /// The helpdesks to poll, by name.
    #[serde(default)]
    pub sources: BTreeMap<String, SourceSpec>,
    /// Monthly markdown reports: when the daemon writes them and where.
    #[serde(default)]
    pub reports: Option<ReportsSpec>,
    /// What the Prometheus exposition adds to the plan × priority × metric
    /// series.
    #[serde(default)]
    pub exposition: ExpositionSpec,
    /// Where the daemon keeps its state (a path, or `sqlite:PATH`); the
    /// command line's `--store` wins. Checked by the binary, which knows
    /// the stores it was built with.
    #[serde(default)]
    pub store: Option<String>,
}

/// Per-organization series: only for an allowlist, capped, because every
/// organization multiplies the plans' series.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpositionSpec {
    /// Helpdesk organization ids that get series of their own (label
    /// `org`); every other organization is summed into `org="other"`.
    #[serde(default)]
    pub organizations: Vec<IdText>,
    /// The most organizations the allowlist may hold (default 20, at most
    /// 200).
    #[serde(default)]
    pub max_organizations: Option<usize>,
}

/// An id written as text or as a number (`"901"` or `901`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum IdText {
    Text(String),
    Number(u64),
}

impl IdText {
    pub fn text(&self) -> String {
        match self {
            IdText::Text(s) => s.clone(),
            IdText::Number(n) => n.to_string(),
        }
    }
}

/// A severity level and the helpdesk priority values that map onto it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeveritySpec {
    pub name: String,
    /// Priority values (any helpdesk's: `urgent`, `4`, `P1`, `Sev 1`),
    /// matched case-insensitively; the severity's own name always matches.
    #[serde(default)]
    pub priorities: Vec<String>,
}

/// Ticket statuses, as every adapter normalizes them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    New,
    Open,
    Pending,
    Hold,
    Solved,
    Closed,
}

impl Status {
    pub fn is_solved(self) -> bool {
        matches!(self, Status::Solved | Status::Closed)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Open => "open",
            Status::Pending => "pending",
            Status::Hold => "hold",
            Status::Solved => "solved",
            Status::Closed => "closed",
        }
    }
}

/// The built-in kinds of SLA metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKindSpec {
    FirstResponse,
    NextReply,
    PeriodicUpdate,
    Resolution,
    TierResponse,
}

impl MetricKindSpec {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FirstResponse => "first_response",
            Self::NextReply => "next_reply",
            Self::PeriodicUpdate => "periodic_update",
            Self::Resolution => "resolution",
            Self::TierResponse => "tier_response",
        }
    }
}

/// What `resolution` does when a solved ticket is reopened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnReopen {
    /// The same clock runs on from the time it had; the solved period does
    /// not count.
    Continue,
    /// A new clock instance starts at the reopen.
    #[default]
    Restart,
}

/// A metric: a kind and its settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricSpec {
    pub kind: MetricKindSpec,
    /// Statuses during which the clock does not run.
    #[serde(default)]
    pub pause_on: Vec<Status>,
    /// `resolution` only.
    #[serde(default)]
    pub on_reopen: Option<OnReopen>,
    /// `tier_response` only: the helpdesk group that is the tier.
    #[serde(default)]
    pub group: Option<String>,
    /// Whether an internal note by an agent counts as a reply or update
    /// (reply and update metrics; tier clocks always count them).
    #[serde(default)]
    pub count_internal_notes: bool,
    #[serde(default)]
    pub description: Option<String>,
}

/// A duration on the wall clock (`poll_interval: 5m`): `d` is 24 hours, and
/// errors say so.
struct WallDuration(BusinessDuration);

impl<'de> Deserialize<'de> for WallDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::de::parse_str(d, "a duration such as 30s, 1m or 5m", |s| {
            BusinessDuration::parse_where_a_day_is(s, "24 hours").map(WallDuration)
        })
    }
}

/// A whole number (`precedence: 2`), with an error that says so instead of
/// naming a Rust type (`expected i32`).
fn whole_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
    struct Whole;
    impl Visitor<'_> for Whole {
        type Value = Option<i32>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a whole number such as 2 (higher wins)")
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Option<i32>, E> {
            i32::try_from(n)
                .map(Some)
                .map_err(|_| E::custom(format!("{n} is too large; write a whole number such as 2")))
        }
        fn visit_u64<E: de::Error>(self, n: u64) -> Result<Option<i32>, E> {
            self.visit_i64(i64::try_from(n).unwrap_or(i64::MAX))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Option<i32>, E> {
            Ok(None)
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Option<i32>, E> {
            Err(E::custom(format!(
                "{s:?} is not a whole number; write one such as 2 (higher wins)"
            )))
        }
        fn visit_f64<E: de::Error>(self, n: f64) -> Result<Option<i32>, E> {
            Err(E::custom(format!(
                "{n} is not a whole number; write one such as 2 (higher wins)"
            )))
        }
    }
    d.deserialize_any(Whole)
}

/// A ratio written `95%` or `0.95`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Ratio(pub f64);

/// Parses `95%`, `10.1%` or `0.95` into a ratio in `[0, 1]`.
pub fn parse_ratio(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let value = match t.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|v| v / 100.0),
        None => t.parse::<f64>(),
    }
    .map_err(|_| not_a_ratio(text))?;
    if !(0.0..=1.0).contains(&value) || !value.is_finite() {
        return Err(format!("\"{text}\" is outside 0%..100%"));
    }
    Ok(value)
}

fn not_a_ratio(text: &str) -> String {
    format!("\"{text}\" is not a ratio; write a percentage such as 95% or a fraction such as 0.95")
}

/// A ratio in `[0, 1]` kept exactly as written: `10.1%` is 101/1000, where
/// a binary float would be 0.10099999999999999. Credit thresholds are
/// compared in integers with it, never as floats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fraction {
    pub num: u64,
    /// At most 10^18, so `count * den` fits in a `u128` for any `u64` count.
    pub den: u64,
}

/// The most digits after the point a [`Fraction`] keeps (of the fraction;
/// a percentage may have two fewer).
const FRACTION_DIGITS: u32 = 18;

impl Fraction {
    /// The nearest float, for display only.
    pub fn value(self) -> f64 {
        self.num as f64 / self.den as f64
    }

    /// `count / total` against this fraction, exactly (`total` 0 counts as
    /// the share 0).
    pub fn cmp_share(self, count: u64, total: u64) -> std::cmp::Ordering {
        let (count, total) = if total == 0 { (0, 1) } else { (count, total) };
        (u128::from(count) * u128::from(self.den)).cmp(&(u128::from(self.num) * u128::from(total)))
    }

    /// Orders two fractions exactly.
    pub fn cmp_exact(self, other: Fraction) -> std::cmp::Ordering {
        (u128::from(self.num) * u128::from(other.den))
            .cmp(&(u128::from(other.num) * u128::from(self.den)))
    }
}

/// Parses `95%`, `10.1%`, `0.101` or `1e-1` into the exact fraction its
/// decimal text says, in `[0, 1]`.
pub fn parse_fraction(text: &str) -> Result<Fraction, String> {
    let t = text.trim();
    let (t, percent) = match t.strip_suffix('%') {
        Some(p) => (p.trim(), true),
        None => (t, false),
    };
    let (negative, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (mantissa, exponent) = match t.find(['e', 'E']) {
        Some(i) => (
            &t[..i],
            t[i + 1..].parse::<i32>().map_err(|_| not_a_ratio(text))?,
        ),
        None => (t, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.len() + frac.len() == 0 || !all_digits(int) || !all_digits(frac) {
        return Err(not_a_ratio(text));
    }
    let outside = || format!("\"{text}\" is outside 0%..100%");
    // value = digits / 10^scale
    let mut digits = format!("{int}{frac}");
    let mut scale = i64::try_from(frac.len()).map_err(|_| not_a_ratio(text))?
        + if percent { 2 } else { 0 }
        - i64::from(exponent);
    let significant = digits.trim_start_matches('0');
    if significant.is_empty() {
        return Ok(Fraction { num: 0, den: 1 });
    }
    if negative {
        return Err(outside());
    }
    digits = significant.to_string();
    while scale > 0 && digits.ends_with('0') {
        digits.pop();
        scale -= 1;
    }
    // digits >= 10^(len - 1) > 10^scale: more than 1.
    if scale < 0 || digits.len() as i64 > scale + 1 {
        return Err(outside());
    }
    if scale > i64::from(FRACTION_DIGITS) {
        return Err(format!(
            "\"{text}\" has more digits after the point than the {FRACTION_DIGITS} a ratio can keep exactly"
        ));
    }
    let num: u64 = digits.parse().map_err(|_| outside())?;
    let den = 10u64.pow(scale as u32);
    if num > den {
        return Err(outside());
    }
    let g = gcd(num, den);
    Ok(Fraction {
        num: num / g,
        den: den / g,
    })
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Reads a ratio's text (or a YAML number, as its shortest decimal text).
struct RatioText<T>(fn(&str) -> Result<T, String>);

impl<T> Visitor<'_> for RatioText<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a ratio such as 95% or 0.95")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        (self.0)(v).map_err(E::custom)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        self.visit_str(&v.to_string())
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        self.visit_str(&v.to_string())
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        self.visit_str(&v.to_string())
    }
}

impl<'de> Deserialize<'de> for Ratio {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RatioText(|t| parse_ratio(t).map(Ratio)))
    }
}

impl<'de> Deserialize<'de> for Fraction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RatioText(parse_fraction))
    }
}

/// Matches a field (of the ticket or its organization) against values.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldMatch {
    pub name: String,
    /// Matched as text, case-insensitively.
    pub values: Vec<String>,
}

/// Which tickets are on a plan: any listed criterion matching is enough.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchSpec {
    #[serde(default)]
    pub organization_tags: Vec<String>,
    #[serde(default)]
    pub organization_ids: Vec<String>,
    #[serde(default)]
    pub organization_field: Option<FieldMatch>,
    #[serde(default)]
    pub ticket_tags: Vec<String>,
    #[serde(default)]
    pub ticket_field: Option<FieldMatch>,
}

impl MatchSpec {
    pub fn is_empty(&self) -> bool {
        self == &MatchSpec::default()
    }
}

/// A customer plan.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSpec {
    #[serde(default, rename = "match")]
    pub matches: MatchSpec,
    /// The plan of tickets no other plan matches.
    #[serde(default)]
    pub default: bool,
    /// Higher wins when several plans match one ticket.
    #[serde(default, deserialize_with = "whole_number")]
    pub precedence: Option<i32>,
    pub calendar: Ref<CalendarKind>,
    /// Share of clocks that should be met (e.g. 95%).
    #[serde(default)]
    pub objective: Option<Ratio>,
    /// The credit table of a plan whose targets are contractual.
    #[serde(default)]
    pub credits: Option<Ref<CreditKind>>,
    /// Targets apply only to tickets created while the plan's calendar is
    /// open (seed 000: "cases originating within business hours only").
    #[serde(default)]
    pub only_created_in_business_hours: bool,
    /// Per severity, per metric.
    #[serde(default)]
    pub targets: BTreeMap<Ref<SeverityKind>, BTreeMap<Ref<MetricKind>, TargetSpec>>,
    #[serde(default)]
    pub description: Option<String>,
}

/// How long a clock may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetAmount {
    /// "At the vendor's discretion": counted, never breached.
    None,
    /// Business time on the target's calendar (`4h`, `2d`).
    Business(BusinessDuration),
    /// The same local clock time on the Nth next business day.
    BusinessDays(u32),
}

/// A target and, optionally, the calendar it runs on instead of the plan's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSpec {
    pub amount: TargetAmount,
    pub calendar: Option<Ref<CalendarKind>>,
}

fn parse_amount(text: &str) -> Result<TargetAmount, String> {
    if text.trim().eq_ignore_ascii_case("none") {
        return Ok(TargetAmount::None);
    }
    text.parse::<BusinessDuration>()
        .map(TargetAmount::Business)
        .map_err(|e| format!("{e}; or `none` for no target (counted, never breached)"))
}

impl<'de> Deserialize<'de> for TargetSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TargetSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a target: 4h, 2d, none, {business_days: 3} or {target: 2h, calendar: NAME}",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<TargetSpec, E> {
                Ok(TargetSpec {
                    amount: parse_amount(v).map_err(E::custom)?,
                    calendar: None,
                })
            }
            fn visit_unit<E: de::Error>(self) -> Result<TargetSpec, E> {
                Ok(TargetSpec {
                    amount: TargetAmount::None,
                    calendar: None,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TargetSpec, A::Error> {
                let mut amount = None;
                let mut calendar = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "target" if amount.is_none() => {
                            let text: TargetText = map.next_value()?;
                            amount = Some(text.0);
                        }
                        "business_days" if amount.is_none() => {
                            let n: u32 = map.next_value()?;
                            if n == 0 {
                                return Err(de::Error::custom(
                                    "business_days must be 1 or more; for an immediate target write 0m",
                                ));
                            }
                            amount = Some(TargetAmount::BusinessDays(n));
                        }
                        "calendar" if calendar.is_none() => {
                            calendar = Some(map.next_value::<Ref<CalendarKind>>()?);
                        }
                        other => {
                            return Err(de::Error::custom(format!(
                                "unexpected key `{other}` in a target; a target map has one of `target` (4h, 2d, none) or `business_days` (N), and optionally `calendar`"
                            )))
                        }
                    }
                }
                let amount = amount.ok_or_else(|| {
                    de::Error::custom(
                        "a target map needs `target` (4h, 2d, none) or `business_days` (N)",
                    )
                })?;
                Ok(TargetSpec { amount, calendar })
            }
        }
        d.deserialize_any(V)
    }
}

struct TargetText(TargetAmount);

impl<'de> Deserialize<'de> for TargetText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parse_str(d, "a target such as 4h, 2d or none", |s| {
            parse_amount(s).map(TargetText)
        })
    }
}

/// The period a credit table is evaluated over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CreditPeriod {
    Month,
    #[default]
    Quarter,
}

/// A credit table: the share of SLA events that violated their target in a
/// period maps to a credit percentage.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditSpec {
    #[serde(default)]
    pub period: CreditPeriod,
    /// The metrics whose clock instances are SLA events.
    pub metrics: Vec<Ref<MetricKind>>,
    /// Severities whose clocks are not SLA events (seed 003: low priority).
    #[serde(default)]
    pub exclude_severities: Vec<Ref<SeverityKind>>,
    /// Count only tickets created while the plan's calendar is open.
    #[serde(default)]
    pub only_created_in_business_hours: bool,
    /// Thresholds, lowest first.
    pub tiers: Vec<CreditTierSpec>,
    #[serde(default)]
    pub description: Option<String>,
}

/// One row of a credit table: `{from: 4%, credit: 10%}` (violation share at
/// least 4%) or `{above: 10.1%, credit: 30%}` (strictly more than 10.1%).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditTierSpec {
    #[serde(default)]
    pub from: Option<Fraction>,
    #[serde(default)]
    pub above: Option<Fraction>,
    pub credit: Ratio,
}

/// Clocks left out of attainment, with the reason reports show.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExclusionSpec {
    pub reason: String,
    /// A time range `[from, to)`: clocks open at any instant in it.
    #[serde(default)]
    pub from: Option<InstantSpec>,
    #[serde(default)]
    pub to: Option<InstantSpec>,
    #[serde(default)]
    pub ticket_tags: Vec<String>,
    #[serde(default)]
    pub ticket_field: Option<FieldMatch>,
    #[serde(default)]
    pub plans: Vec<Ref<PlanKind>>,
    #[serde(default)]
    pub severities: Vec<Ref<SeverityKind>>,
    #[serde(default)]
    pub metrics: Vec<Ref<MetricKind>>,
}

/// An RFC 3339 instant, as Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstantSpec(pub i64);

impl<'de> Deserialize<'de> for InstantSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parse_str(d, "an RFC 3339 instant", |s| {
            crate::time::parse_instant(s).map(InstantSpec)
        })
    }
}

/// Where a secret comes from: never the config text itself. Exactly one of
/// `env` (an environment variable) or `file` (a file; trailing whitespace
/// ignored).
///
/// Read by hand, not by serde's derive: no value written where a secret
/// belongs is ever repeated in an error (a token pasted into the config, or
/// into `env:`, would otherwise be printed by `check`, the reload answer
/// and the daemon's log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSpec {
    pub env: Option<String>,
    pub file: Option<std::path::PathBuf>,
}

/// What a secret must be written as.
const SECRET_FORMS: &str = "auth.token must be {env: VARIABLE} or {file: PATH}; a token written \
     in the config is refused (it would end up in backups and logs)";

impl SecretSpec {
    /// An environment variable's name as people write them (`ZENDESK_TOKEN`):
    /// uppercase letters, digits and `_`, not starting with a digit. Only
    /// such a name is ever printed back.
    pub fn is_variable_name(name: &str) -> bool {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    }
}

impl<'de> Deserialize<'de> for SecretSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct SecretVisitor;

        impl SecretVisitor {
            fn refuse<E: de::Error>() -> E {
                E::custom(SECRET_FORMS)
            }
        }

        impl<'de> Visitor<'de> for SecretVisitor {
            type Value = SecretSpec;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("{env: VARIABLE} or {file: PATH}")
            }

            fn visit_str<E: de::Error>(self, _: &str) -> Result<SecretSpec, E> {
                Err(Self::refuse())
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<SecretSpec, E> {
                Err(Self::refuse())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<SecretSpec, E> {
                Err(Self::refuse())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<SecretSpec, E> {
                Err(Self::refuse())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<SecretSpec, E> {
                Err(Self::refuse())
            }
            fn visit_unit<E: de::Error>(self) -> Result<SecretSpec, E> {
                Err(Self::refuse())
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<SecretSpec, A::Error> {
                Err(Self::refuse())
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SecretSpec, A::Error> {
                let mut spec = SecretSpec {
                    env: None,
                    file: None,
                };
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "env" => {
                            // Read as any value, so a token pasted here is
                            // never in a type error either.
                            let value: serde_yaml_ng::Value = map.next_value()?;
                            match value.as_str() {
                                Some(name) if SecretSpec::is_variable_name(name) => {
                                    spec.env = Some(name.to_string());
                                }
                                _ => {
                                    return Err(de::Error::custom(
                                        "auth.token.env: not an environment variable's name (uppercase \
                                         letters, digits and _, such as ZENDESK_API_TOKEN); what \
                                         is written there is not printed, in case it is a token",
                                    ))
                                }
                            }
                        }
                        "file" => spec.file = Some(map.next_value()?),
                        other => return Err(de::Error::unknown_field(other, &["env", "file"])),
                    }
                }
                Ok(spec)
            }
        }

        d.deserialize_any(SecretVisitor)
    }
}

/// How to authenticate to a helpdesk.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSpec {
    /// API-token auth: the agent's email (sent as `email/token`); without
    /// it the secret is an OAuth bearer token.
    #[serde(default)]
    pub email: Option<String>,
    pub token: SecretSpec,
}

/// A helpdesk to poll, as the core sees it: its kind, the settings the
/// daemon reads for every source, and the rest of its keys, which belong to
/// its adapter. Each adapter reads those into a typed config of its own and
/// checks them (the kinds this build knows and their keys are the daemon's
/// business: the core knows no helpdesk).
///
/// ```yaml
/// sources:
///   zendesk:                  # the source's name, used in labels
///     kind: zendesk           # the adapter
///     poll_interval: 1m       # time between polls once caught up
///     requests_per_minute: 10 # the helpdesk's budget
///     url: https://acme.zendesk.com   # ...the adapter's own keys
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSpec {
    /// The adapter (`zendesk`).
    pub kind: String,
    /// Time between polls once caught up (`60s`, `5m`).
    pub poll_interval: Option<BusinessDuration>,
    /// Most requests a minute to send (Zendesk allows 10 incremental-export
    /// requests a minute).
    pub requests_per_minute: Option<u32>,
    /// Every other key, for the adapter of `kind`.
    pub settings: BTreeMap<String, serde_yaml_ng::Value>,
}

impl<'de> Deserialize<'de> for SourceSpec {
    // By hand rather than with `#[serde(flatten)]`, which would buffer the
    // whole map first and lose the line of an error in `poll_interval`.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SourceSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a source: `kind` and the adapter's settings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SourceSpec, A::Error> {
                let mut kind = None;
                let mut poll_interval = None;
                let mut requests_per_minute = None;
                let mut settings = BTreeMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "kind" => kind = Some(map.next_value::<String>()?),
                        "poll_interval" => {
                            poll_interval = map.next_value::<Option<WallDuration>>()?.map(|w| w.0)
                        }
                        "requests_per_minute" => {
                            requests_per_minute = map.next_value::<Option<u32>>()?
                        }
                        _ => {
                            let value = map.next_value::<serde_yaml_ng::Value>()?;
                            if settings.insert(key.clone(), value).is_some() {
                                return Err(de::Error::custom(format!("duplicate key `{key}`")));
                            }
                        }
                    }
                }
                Ok(SourceSpec {
                    kind: kind.ok_or_else(|| de::Error::missing_field("kind"))?,
                    poll_interval,
                    requests_per_minute,
                    settings,
                })
            }
        }
        d.deserialize_map(V)
    }
}

/// What a voice comment counts as.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VoiceComments {
    /// Like any comment: public by an agent is a reply.
    #[default]
    Count,
    /// Not a comment for any clock.
    Ignore,
}

/// The `reports:` section: when the daemon writes the monthly report, in
/// which zone "the month" is read, where files go, and which customers get a
/// report of their own.
///
/// ```yaml
/// reports:
///   schedule: "0 6 1 * *"     # crontab's 5 fields: 06:00 on the 1st
///   timezone: Europe/Berlin   # the schedule's zone and the month's; default UTC
///   out: reports/             # relative to the config file's folder
///   customers: ["900", Acme]  # organization ids or names: one report each
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportsSpec {
    #[serde(default)]
    pub schedule: Option<CronSpec>,
    #[serde(default)]
    pub timezone: Option<crate::calendar::spec::Zone>,
    #[serde(default)]
    pub out: Option<std::path::PathBuf>,
    #[serde(default)]
    pub customers: Vec<String>,
}

/// A cron expression, checked when read (see [`super::schedule`]); the
/// zone is applied once the whole section is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronSpec(pub String);

impl<'de> Deserialize<'de> for CronSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parse_str(d, "a cron expression such as \"0 6 1 * *\"", |s| {
            super::schedule::Schedule::parse(s, chrono_tz::UTC).map(|_| CronSpec(s.to_string()))
        })
    }
}
