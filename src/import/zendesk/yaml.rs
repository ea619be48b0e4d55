//! The config written out: calendars, severities, metrics and plans as commented YAML.

use super::*;

/// Double-quoted YAML (a JSON string is a valid YAML double-quoted scalar).
pub(super) fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string())
}

/// Text for a one-line comment.
pub(super) fn comment_text(s: &str) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat = flat.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 300 {
        format!("{}…", flat.chars().take(300).collect::<String>())
    } else {
        flat
    }
}

/// Writes a comment wrapped at about 78 columns.
pub(super) fn comment(out: &mut String, indent: &str, text: &str) {
    let text = comment_text(text);
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.trim().is_empty() && indent.len() + 2 + line.len() + 1 + word.len() > 78 {
            let _ = writeln!(out, "{indent}# {line}");
            line = String::from("  ");
        } else if !line.is_empty() && line != "  " {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.trim().is_empty() {
        let _ = writeln!(out, "{indent}# {line}");
    }
}

/// A config name from a Zendesk title: lower case, `-` between words.
pub(super) fn slug(title: &str, fallback: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        fallback.to_string()
    } else {
        out
    }
}

pub(super) fn unique(name: String, taken: &mut BTreeSet<String>) -> String {
    let mut candidate = name.clone();
    let mut n = 2;
    while taken.contains(&candidate) {
        candidate = format!("{name}-{n}");
        n += 1;
    }
    taken.insert(candidate.clone());
    candidate
}

/// A schedule's weekly windows per weekday (Monday = 0), in minutes of the day.
pub(super) fn weekly_windows(intervals: &[ZInterval]) -> [Vec<(i64, i64)>; 7] {
    const WEEK: i64 = 7 * 1440;
    let mut days: [Vec<(i64, i64)>; 7] = Default::default();
    for iv in intervals {
        let (mut s, e) = (iv.start_time.max(0), iv.end_time.min(2 * WEEK));
        while s < e {
            let day_start = s / 1440 * 1440;
            let piece_end = e.min(day_start + 1440);
            // Zendesk counts days from Sunday; the config from Monday.
            let zd_day = (s / 1440) % 7;
            let day = ((zd_day + 6) % 7) as usize;
            days[day].push((s - day_start, piece_end - day_start));
            s = piece_end;
        }
    }
    for list in &mut days {
        list.sort();
        let mut merged: Vec<(i64, i64)> = Vec::new();
        for (s, e) in list.drain(..) {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        *list = merged;
    }
    days
}

pub(super) fn hhmm(minutes: i64) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// `hours:` for a schedule, or `None` when it is never open.
pub(super) fn hours_yaml(intervals: &[ZInterval]) -> Option<String> {
    let days = weekly_windows(intervals);
    if days.iter().all(|d| d.is_empty()) {
        return None;
    }
    if days.iter().all(|d| d.as_slice() == [(0, 1440)]) {
        return Some("24x7".to_string());
    }
    const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let mut done = [false; 7];
    let mut entries = Vec::new();
    for d in 0..7 {
        if done[d] || days[d].is_empty() {
            continue;
        }
        let same: Vec<usize> = (d..7).filter(|&o| days[o] == days[d]).collect();
        // Consecutive runs: mon-fri; else a list: mon,wed.
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for &o in &same {
            done[o] = true;
            match runs.last_mut() {
                Some(r) if r.1 + 1 == o => r.1 = o,
                _ => runs.push((o, o)),
            }
        }
        let key = runs
            .iter()
            .map(|&(a, b)| {
                if a == b {
                    NAMES[a].to_string()
                } else {
                    format!("{}-{}", NAMES[a], NAMES[b])
                }
            })
            .collect::<Vec<_>>()
            .join(",");
        let windows = days[d]
            .iter()
            .map(|&(s, e)| format!("\"{}-{}\"", hhmm(s), hhmm(e)))
            .collect::<Vec<_>>()
            .join(", ");
        entries.push(format!("{key}: [{windows}]"));
    }
    Some(format!("{{ {} }}", entries.join(", ")))
}

/// One calendar to write.
pub(super) struct CalendarOut {
    pub(super) name: String,
    /// Open 24x7 with no holidays: calendar-hours targets need no override.
    pub(super) always: bool,
    pub(super) schedule_id: String,
    pub(super) schedule_name: String,
    pub(super) text: String,
}

/// A target: (metric name, seconds, on calendar hours).
pub(super) type TargetOut = (String, i64, bool);

pub(super) struct PlanOut {
    pub(super) name: String,
    pub(super) header: Vec<String>,
    pub(super) notes: Vec<String>,
    pub(super) criteria: Criteria,
    pub(super) default: bool,
    pub(super) calendar: String,
    /// Per severity index, in metric order.
    pub(super) targets: BTreeMap<usize, Vec<TargetOut>>,
}

/// Converts what was read into the config text (checked to load).
pub fn convert(
    account: &Account,
    default_schedule: Option<&str>,
    source: Option<&SourceHint>,
) -> Result<Imported, ImportError> {
    let mut calendar_names = BTreeSet::new();
    calendar_names.insert(CALENDAR_HOURS.to_string());
    let mut calendars: Vec<CalendarOut> = Vec::new();
    let mut skipped_schedules = Vec::new();
    let mut holidays_total = 0;
    for s in &account.schedules {
        let id = id_text(&s.id);
        let tz = zone_for(&s.time_zone).ok_or_else(|| ImportError::UnknownZone {
            schedule: s.name.clone(),
            id: id.clone(),
            zone: s.time_zone.clone(),
        })?;
        let Some(hours) = hours_yaml(&s.intervals) else {
            skipped_schedules.push(format!("\"{}\" (id {id})", comment_text(&s.name)));
            continue;
        };
        let name = unique(
            slug(&s.name, &format!("schedule-{id}")),
            &mut calendar_names,
        );
        let mut text = String::new();
        comment(
            &mut text,
            "  ",
            &format!(
                "Zendesk schedule {id} \"{}\", time zone \"{}\"",
                s.name, s.time_zone
            ),
        );
        let _ = writeln!(text, "  {name}:");
        let _ = writeln!(text, "    timezone: {}", tz.name());
        let _ = writeln!(text, "    hours: {hours}");
        let mut dates: BTreeMap<NaiveDate, String> = BTreeMap::new();
        for h in &s.holidays {
            let parse = |d: &str| {
                NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").map_err(|_| {
                    ImportError::Malformed(format!(
                        "schedule \"{}\" (id {id}): holiday \"{}\" has date \"{d}\", not YYYY-MM-DD",
                        s.name, h.name
                    ))
                })
            };
            let (first, last) = (parse(&h.start_date)?, parse(&h.end_date)?);
            if last < first || (last - first).num_days() > 366 {
                return Err(ImportError::Malformed(format!(
                    "schedule \"{}\" (id {id}): holiday \"{}\" runs from {first} to {last}",
                    s.name, h.name
                )));
            }
            for d in first.iter_days().take_while(|d| *d <= last) {
                dates.entry(d).or_insert_with(|| h.name.clone());
            }
        }
        holidays_total += dates.len();
        if !dates.is_empty() {
            let _ = writeln!(text, "    holidays:");
            for (d, why) in &dates {
                let _ = writeln!(text, "      - {d}   # {}", comment_text(why));
            }
        }
        calendars.push(CalendarOut {
            always: hours == "24x7" && dates.is_empty(),
            name,
            schedule_id: id,
            schedule_name: s.name.clone(),
            text,
        });
    }
    let default_calendar: Option<&CalendarOut> = match default_schedule {
        Some(want) => Some(
            calendars
                .iter()
                .find(|c| c.schedule_id == want || c.schedule_name == want || c.name == want)
                .ok_or_else(|| {
                    ImportError::Setup(format!(
                        "--default-schedule \"{want}\" is not a schedule with business hours in the account; its schedules are: {}",
                        calendars
                            .iter()
                            .map(|c| format!("{} (\"{}\")", c.schedule_id, c.schedule_name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?,
        ),
        None => calendars.first(),
    };

    // Policies in Zendesk's order.
    let mut order: Vec<(usize, &ZPolicy)> = account.policies.iter().enumerate().collect();
    order.sort_by_key(|(i, p)| (p.position.unwrap_or(i64::MAX), *i));
    let mut plan_names = BTreeSet::new();
    let mut plans: Vec<PlanOut> = Vec::new();
    let mut default_plan: Option<PlanOut> = None;
    let mut unreachable = Vec::new();
    let mut used_metrics = BTreeSet::new();
    let mut needs_calendar_hours = calendars.is_empty();
    // Positions of catch-all policies, to note the plans that follow them.
    let mut catch_all_before: Vec<String> = Vec::new();
    let mut closed = false;
    for (_, p) in &order {
        let id = id_text(&p.id);
        let title = if p.title.trim().is_empty() {
            format!("policy {id}")
        } else {
            p.title.clone()
        };
        if closed {
            unreachable.push(format!("\"{}\" (id {id})", comment_text(&title)));
            continue;
        }
        let f = convert_filter(p.filter.as_ref());
        let mut notes = f.notes;
        let calendar = match (&f.schedule, default_calendar) {
            (Some(sid), _) => match calendars.iter().find(|c| &c.schedule_id == sid) {
                Some(c) => c.name.clone(),
                None => {
                    notes.push(format!(
                        "APPROXIMATION: the filter names schedule {sid}, which the account does not list with business hours; the plan runs on the default calendar"
                    ));
                    default_calendar.map_or(CALENDAR_HOURS.to_string(), |c| c.name.clone())
                }
            },
            (None, Some(c)) => c.name.clone(),
            (None, None) => {
                notes.push("the account has no schedule with business hours, so business-hours targets run 24x7 here (on calendar-hours)".to_string());
                CALENDAR_HOURS.to_string()
            }
        };
        // Targets of the admitted priorities, first entry per metric wins.
        let mut targets: BTreeMap<usize, Vec<TargetOut>> = BTreeMap::new();
        for m in &p.policy_metrics {
            let priority = m
                .priority
                .as_deref()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            let Some(sev) = PRIORITIES.iter().position(|x| *x == priority) else {
                notes.push(format!(
                    "APPROXIMATION: a {} target for priority \"{priority}\" is left out: Zendesk's priorities are urgent, high, normal and low",
                    m.metric
                ));
                continue;
            };
            let Some((metric, _, _)) = METRICS.iter().find(|(n, _, _)| *n == m.metric) else {
                notes.push(format!(
                    "APPROXIMATION: the {priority} target of metric \"{}\" is left out: helpdesk-slo has no equivalent",
                    m.metric
                ));
                continue;
            };
            if !f.admitted[sev] {
                continue;
            }
            let seconds = match (m.target_in_seconds, m.target) {
                (Some(s), _) if s >= 0 => s,
                (_, Some(t)) if t >= 0 => t.saturating_mul(60),
                _ => {
                    notes.push(format!(
                        "APPROXIMATION: the {priority} {metric} target has no valid `target` and is left out"
                    ));
                    continue;
                }
            };
            let list = targets.entry(sev).or_default();
            if list.iter().any(|(n, _, _)| n == metric) {
                notes.push(format!(
                    "the policy lists the {priority} {metric} target twice; the first is kept"
                ));
                continue;
            }
            let always = calendar == CALENDAR_HOURS
                || calendars.iter().any(|c| c.name == calendar && c.always);
            let on_hours = !m.business_hours && !always;
            needs_calendar_hours |= on_hours || calendar == CALENDAR_HOURS;
            used_metrics.insert(*metric);
            list.push(((*metric).to_string(), seconds, on_hours));
        }
        for list in targets.values_mut() {
            list.sort_by_key(|(n, _, _)| METRICS.iter().position(|(m, _, _)| m == n));
        }
        if f.admitted != [true; 4] {
            notes.push(format!(
                "APPROXIMATION: the policy applies only to priorities {}; in Zendesk other tickets fall through to the next policy, here they are on this plan without targets",
                severities_text(&f.admitted)
            ));
        }
        let mut header = vec![format!(
            "Zendesk SLA policy {id} \"{title}\" (position {})",
            p.position
                .map_or_else(|| "none".to_string(), |n| n.to_string())
        )];
        if let Some(d) = p.description.as_deref().filter(|d| !d.trim().is_empty()) {
            header.push(format!("Description: {d}"));
        }
        if f.catch_all {
            let all = f.admitted == [true; 4];
            // Other priorities go on to the next policy without
            // conditions, merged here: nothing falls through.
            notes.retain(|n| !n.contains("fall through"));
            match default_plan.as_mut() {
                None => {
                    let name = unique(slug(&title, &format!("policy-{id}")), &mut plan_names);
                    default_plan = Some(PlanOut {
                        name,
                        header,
                        notes,
                        criteria: Criteria::default(),
                        default: true,
                        calendar,
                        targets,
                    });
                }
                Some(d) => {
                    d.header.push(format!(
                        "merged with Zendesk SLA policy {id} \"{title}\" (position {}), which also has no conditions: for each priority the first policy's targets apply",
                        p.position.map_or_else(|| "none".to_string(), |n| n.to_string())
                    ));
                    if d.calendar != calendar {
                        d.notes.push(format!(
                            "APPROXIMATION: policy \"{title}\" runs on another schedule; its targets are measured on {} here",
                            d.calendar
                        ));
                    }
                    for (sev, list) in targets {
                        d.targets.entry(sev).or_insert(list);
                    }
                    d.notes.extend(notes);
                }
            }
            catch_all_before.push(format!("\"{}\"", comment_text(&title)));
            if all {
                closed = true;
            }
            continue;
        }
        let criteria = if f.criteria.is_empty() {
            let name = slug(&title, &format!("policy-{id}"));
            let tag = format!("sla-{name}");
            notes.push(format!(
                "APPROXIMATION: none of the policy's conditions can be a plan match, so this plan matches tickets tagged \"{tag}\"; add that tag with a Zendesk trigger on the policy's conditions, or edit the match"
            ));
            Criteria {
                ticket_tags: vec![tag],
                ..Criteria::default()
            }
        } else {
            f.criteria
        };
        if !catch_all_before.is_empty() {
            notes.push(format!(
                "APPROXIMATION: in Zendesk the policies {} above this one (no conditions but priority) take the tickets of their priorities first; here this plan wins for the tickets it matches",
                catch_all_before.join(", ")
            ));
        }
        let name = unique(slug(&title, &format!("policy-{id}")), &mut plan_names);
        plans.push(PlanOut {
            name,
            header,
            notes,
            criteria,
            default: false,
            calendar,
            targets,
        });
    }

    // The text.
    let mut out = String::new();
    let mut intro = vec![
        "helpdesk-slo config imported from Zendesk by `helpdesk-slo import-zendesk-policies`."
            .to_string(),
    ];
    if let Some(s) = source {
        intro.push(format!("Account: {}.", s.url));
    }
    intro.push(format!(
        "Read: {} SLA policies, {} schedules, {} holiday dates.",
        account.policies.len(),
        account.schedules.len(),
        holidays_total
    ));
    for line in intro {
        comment(&mut out, "", &line);
    }
    let _ = writeln!(out, "#");
    for line in [
        "How Zendesk maps onto this file:".to_string(),
        "- Each schedule is a calendar (its time zone mapped to the IANA name); its holidays are closed days.".to_string(),
        "- Ticket priorities urgent, high, normal, low are the severities. Zendesk gives a ticket without a priority no SLA, so there is no default_severity.".to_string(),
        "- Each SLA policy is a plan, in Zendesk's order: the first policy has the highest precedence. A policy without conditions is the default plan.".to_string(),
        format!(
            "- Zendesk measures a ticket on the schedule a trigger gave it, else on the account default (the first schedule). Plans run on the schedule their policy's filter names (`schedule_id is N`), else on {}.",
            default_calendar.map_or_else(|| "calendar-hours (the account has no schedule with business hours)".to_string(), |c| format!("calendar {} (schedule \"{}\")", c.name, c.schedule_name))
        ),
        "- Targets Zendesk measures in calendar hours (business_hours: false) run on the 24x7 calendar calendar-hours.".to_string(),
        "- Zendesk has no objective or credit table: add `objective:` and `credits:` to plans as needed.".to_string(),
        "Comments that start with APPROXIMATION say where this file and Zendesk differ; review them.".to_string(),
    ] {
        comment(&mut out, "", &line);
    }
    if !skipped_schedules.is_empty() {
        comment(
            &mut out,
            "",
            &format!(
                "APPROXIMATION: schedules {} have no business hours and are left out.",
                skipped_schedules.join(", ")
            ),
        );
    }
    if !unreachable.is_empty() {
        comment(
            &mut out,
            "",
            &format!(
                "Left out: SLA policies {}, which come after a policy without conditions and so never apply in Zendesk.",
                unreachable.join(", ")
            ),
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "calendars:");
    for c in &calendars {
        out.push_str(&c.text);
    }
    if needs_calendar_hours {
        comment(
            &mut out,
            "  ",
            "Zendesk's calendar hours: targets with business_hours: false (holidays do not apply)",
        );
        let _ = writeln!(out, "  {CALENDAR_HOURS}:");
        let _ = writeln!(out, "    timezone: UTC");
        let _ = writeln!(out, "    hours: 24x7");
    }
    let _ = writeln!(out);
    comment(
        &mut out,
        "",
        "Zendesk's ticket priorities, most severe first.",
    );
    let _ = writeln!(out, "severities:");
    for p in PRIORITIES {
        let _ = writeln!(out, "  - {{ name: {p} }}");
    }
    let _ = writeln!(out);
    if used_metrics.is_empty() {
        let _ = writeln!(out, "metrics: {{}}");
    } else {
        let _ = writeln!(out, "metrics:");
        for (name, def, what) in METRICS {
            if used_metrics.contains(name) {
                comment(&mut out, "  ", what);
                let _ = writeln!(out, "  {name}: {def}");
            }
        }
    }
    let _ = writeln!(out);
    let total = plans.len();
    let all_plans: Vec<(Option<i32>, &PlanOut)> = plans
        .iter()
        .enumerate()
        .map(|(i, p)| (Some((total - i) as i32), p))
        .chain(default_plan.iter().map(|p| (None, p)))
        .collect();
    if all_plans.is_empty() {
        comment(&mut out, "", "The account has no SLA policies.");
        let _ = writeln!(out, "plans: {{}}");
    } else {
        let _ = writeln!(out, "plans:");
    }
    for (precedence, p) in &all_plans {
        for h in &p.header {
            comment(&mut out, "  ", h);
        }
        let _ = writeln!(out, "  {}:", p.name);
        for n in &p.notes {
            comment(&mut out, "    ", n);
        }
        if p.default {
            let _ = writeln!(out, "    default: true");
        } else {
            let _ = writeln!(out, "    match: {}", p.criteria.yaml());
        }
        if let Some(n) = precedence {
            let _ = writeln!(out, "    precedence: {n}");
        }
        let _ = writeln!(out, "    calendar: {}", p.calendar);
        if p.targets.is_empty() {
            comment(
                &mut out,
                "    ",
                "The policy has no targets helpdesk-slo can track.",
            );
            continue;
        }
        let _ = writeln!(out, "    targets:");
        for (sev, list) in &p.targets {
            let _ = writeln!(out, "      {}:", PRIORITIES[*sev]);
            for (metric, seconds, on_hours) in list {
                let amount = format_seconds(*seconds);
                if *on_hours {
                    let _ = writeln!(
                        out,
                        "        {metric}: {{ target: {amount}, calendar: {CALENDAR_HOURS} }}"
                    );
                } else {
                    let _ = writeln!(out, "        {metric}: {amount}");
                }
            }
        }
    }
    if let Some(s) = source {
        let _ = writeln!(out);
        comment(
            &mut out,
            "",
            "To poll this account with `helpdesk-slo run`, uncomment and set start_time:",
        );
        let _ = writeln!(out, "# sources:");
        let _ = writeln!(out, "#   zendesk:");
        let _ = writeln!(out, "#     kind: zendesk");
        let _ = writeln!(out, "#     url: {}", s.url);
        let token = match (&s.token.env, &s.token.file) {
            (Some(v), _) => format!("{{ env: {v} }}"),
            (None, Some(f)) => format!("{{ file: {} }}", quote(&f.display().to_string())),
            (None, None) => "{ env: ZENDESK_API_TOKEN }".to_string(),
        };
        match &s.email {
            Some(e) => {
                let _ = writeln!(out, "#     auth: {{ email: {}, token: {token} }}", quote(e));
            }
            None => {
                let _ = writeln!(out, "#     auth: {{ token: {token} }}");
            }
        }
        let _ = writeln!(out, "#     start_time: 2026-01-01T00:00:00Z");
    }
    let approximations = out
        .lines()
        .filter(|l| l.trim_start().starts_with("# APPROXIMATION:"))
        .count();
    Config::from_yaml(&out, Path::new("zendesk-import.yaml"))
        .map_err(|e| ImportError::Invalid(e.to_string()))?;
    Ok(Imported {
        yaml: out,
        policies: account.policies.len(),
        schedules: account.schedules.len(),
        holidays: holidays_total,
        approximations,
    })
}
