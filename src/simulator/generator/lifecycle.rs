//! One ticket's life after its creation: replies timed against the plan's
//! targets, pending periods, holds, solves, reopenings and closes.

use serde_json::{json, Value};

use super::context::{pick_priority, Ctx};
use super::{
    Dataset, Edit, Id, NewComment, TicketStatus, Update, STATUS_AWAITING_CUSTOMER_TEST,
    STATUS_ESCALATED, STATUS_WAITING_ON_THIRD_PARTY, USER_BASE,
};
use crate::policy::model::Plan;
use crate::policy::spec::TargetAmount;
use crate::simulator::Rng;

/// When a reply to a clock started at `from` happens: on time (5%..90% of
/// the target) or, with `late` set, after it (120%..250%), on the target's
/// calendar; 20 minutes to 6 hours of wall time when there is no target.
fn reply_time(
    rng: &mut Rng,
    plan: Option<&Plan>,
    severity: Option<usize>,
    metric: Option<usize>,
    from: i64,
    late: bool,
) -> (i64, bool) {
    let target = plan
        .zip(severity)
        .zip(metric)
        .and_then(|((p, s), m)| p.target(s, m));
    let timed = target.and_then(|t| {
        let secs = match t.amount {
            TargetAmount::Business(d) => t.calendar.duration_seconds(d),
            TargetAmount::BusinessDays(n) => i64::from(n) * t.calendar.day_length(),
            TargetAmount::None => return None,
        };
        let scale = if late {
            1.2 + 1.3 * rng.unit()
        } else {
            0.05 + 0.85 * rng.unit()
        };
        t.calendar.deadline(from, (secs as f64 * scale) as i64).ok()
    });
    match timed {
        Some(at) => (at.max(from + 60), true),
        None => (from + rng.range(1200, 6 * 3600), false),
    }
}

/// Records one update; false once it would be after the end.
type Apply<'a> = dyn FnMut(&mut Dataset, i64, i64, Vec<Edit>, Option<NewComment>) -> bool + 'a;

/// Whose ticket it is: its plan, the agents who answer it, and how often
/// they answer late.
pub(super) struct Who<'a> {
    pub(super) plan: Option<&'a Plan>,
    pub(super) agents: &'a [Id],
    pub(super) late_rate: f64,
}

/// Plays one ticket's life after its creation, stopping at `ctx.end`.
pub(super) fn lifecycle(
    ctx: &Ctx,
    data: &mut Dataset,
    rng: &mut Rng,
    extra: &mut Rng,
    id: Id,
    who: &Who,
) {
    let (plan, agents) = (who.plan, who.agents);
    let Some(t) = data.ticket(id) else { return };
    let (requester, created) = (t.requester_id, t.created_at);
    let severity = |data: &Dataset| {
        data.ticket(id)
            .and_then(|t| t.priority.as_deref())
            .and_then(|p| ctx.policy.severity_of(p))
            .or(ctx.policy.default_severity)
    };
    let agent = agents
        .get(rng.index(agents.len()))
        .copied()
        .unwrap_or(USER_BASE);
    let end = ctx.end;
    // Returns false once the update would be after `end`.
    let mut apply = |data: &mut Dataset, at: i64, by: i64, edits: Vec<Edit>, comment| {
        if at > end {
            return false;
        }
        data.update_ticket(Update {
            ticket_id: id,
            at,
            updater_id: by,
            edits,
            comment,
        })
        .is_ok()
    };
    let reply = |author: Id, public: bool, body: &str| {
        Some(NewComment {
            author_id: author,
            public,
            body: body.to_string(),
        })
    };
    let agent_reply = |data: &mut Dataset,
                       rng: &mut Rng,
                       extra: &mut Rng,
                       apply: &mut Apply,
                       (from, not_before): (i64, i64),
                       metric: Option<usize>,
                       mut edits: Vec<Edit>|
     -> Option<(i64, TicketStatus)> {
        // Timed against the clock that started at `from`, but never before
        // what already happened at `not_before`.
        let late = rng.chance(who.late_rate);
        let (at, timed) = reply_time(rng, plan, severity(data), metric, from, late);
        let at = if from < not_before {
            at.max(not_before + 60)
        } else {
            at
        };
        let from = not_before;
        if at > end {
            return None;
        }
        if timed {
            data.stats.replies_with_target += 1;
            if late {
                data.stats.late_replies += 1;
            }
        }
        if rng.chance(0.12) {
            let note_at = from + (at - from) / 2;
            apply(
                data,
                note_at,
                agent as i64,
                vec![],
                reply(agent, false, "Internal: looking into it."),
            );
        }
        let status = if rng.chance(0.35) {
            TicketStatus::Pending
        } else {
            TicketStatus::Open
        };
        edits.push(match (status, extra.chance(ctx.custom_status_rate)) {
            (TicketStatus::Pending, true) => Edit::CustomStatus(STATUS_AWAITING_CUSTOMER_TEST),
            (TicketStatus::Open, true) => Edit::CustomStatus(STATUS_ESCALATED),
            (s, _) => Edit::Status(s),
        });
        apply(
            data,
            at,
            agent as i64,
            edits,
            reply(agent, true, "Thanks, here is an update."),
        )
        .then_some((at, status))
    };

    let mut first_edits = vec![Edit::Assignee(Some(agent))];
    // An agent re-assesses the severity with the first reply.
    let n = ctx.policy.severities.len();
    if let Some(fid) = ctx.severity_field.filter(|_| n > 1) {
        if extra.chance(ctx.severity_change_rate) {
            let current = data.ticket(id).and_then(|t| {
                t.custom_fields
                    .iter()
                    .find(|(f, _)| *f == fid)
                    .map(|(_, v)| v.clone())
            });
            let mut pick = extra.index(n);
            if current.as_ref().and_then(Value::as_str)
                == ctx.policy.severities.get(pick).map(String::as_str)
            {
                pick = (pick + 1) % n;
            }
            first_edits.push(Edit::CustomField(fid, json!(ctx.policy.severities[pick])));
        }
    }
    let Some((mut t, mut status)) = agent_reply(
        data,
        rng,
        extra,
        &mut apply,
        (created, created),
        ctx.first_response,
        first_edits,
    ) else {
        return;
    };
    for _ in 0..rng.index(4) {
        // The follow-up clock runs from the agent's last update while the
        // ticket stays open; a requester's reply to a pending ticket
        // starts it again.
        let mut window = t;
        if status == TicketStatus::Pending {
            if rng.chance(0.3) {
                break; // stays pending until solved
            }
            t += rng.range(3600, 3 * 86_400);
            if !apply(
                data,
                t,
                requester as i64,
                vec![Edit::Status(TicketStatus::Open)],
                reply(requester, true, "Here is the information."),
            ) {
                return;
            }
            window = t;
        } else if rng.chance(0.08) {
            t += rng.range(600, 4 * 3600);
            if !apply(
                data,
                t,
                agent as i64,
                vec![if extra.chance(ctx.custom_status_rate) {
                    Edit::CustomStatus(STATUS_WAITING_ON_THIRD_PARTY)
                } else {
                    Edit::Status(TicketStatus::Hold)
                }],
                reply(agent, false, "Waiting on engineering."),
            ) {
                return;
            }
            t += rng.range(3600, 2 * 86_400);
            if !apply(
                data,
                t,
                agent as i64,
                vec![Edit::Status(TicketStatus::Open)],
                None,
            ) {
                return;
            }
        } else {
            t += if ctx.prompt_updates {
                rng.range(600, 3600)
            } else {
                rng.range(2 * 3600, 2 * 86_400)
            };
            if !apply(
                data,
                t,
                requester as i64,
                vec![],
                reply(requester, true, "Any news?"),
            ) {
                return;
            }
        }
        if rng.chance(0.15) {
            let current = data.ticket(id).and_then(|x| x.group_id);
            let others: Vec<Id> = data
                .groups
                .iter()
                .map(|g| g.id)
                .filter(|g| Some(*g) != current)
                .collect();
            t += rng.range(600, 2 * 3600);
            let g = others.get(rng.index(others.len())).copied();
            if !apply(data, t, agent as i64, vec![Edit::Group(g)], None) {
                return;
            }
        }
        if rng.chance(0.08) {
            let p = pick_priority(rng, &ctx.severities);
            let current = data.ticket(id).and_then(|x| x.priority.clone());
            if p.is_some() && p != current {
                t += rng.range(60, 3600);
                let mut edits = vec![Edit::Priority(p.clone())];
                // The severity field follows the priority.
                if let Some(fid) = ctx.severity_field {
                    let sev = p
                        .as_deref()
                        .and_then(|p| ctx.policy.severity_of(p))
                        .and_then(|s| ctx.policy.severities.get(s));
                    edits.push(Edit::CustomField(fid, json!(sev)));
                }
                if !apply(data, t, agent as i64, edits, None) {
                    return;
                }
            }
        }
        let from = if ctx.prompt_updates { window } else { t };
        match agent_reply(
            data,
            rng,
            extra,
            &mut apply,
            (from, t),
            ctx.follow_up,
            vec![],
        ) {
            Some((at, s)) => (t, status) = (at, s),
            None => return,
        }
    }
    // How long until the solve after an agent's update at `t`.
    let solve_at = |data: &Dataset, rng: &mut Rng, t: i64, status: TicketStatus| {
        if ctx.prompt_updates && status == TicketStatus::Open {
            reply_time(rng, plan, severity(data), ctx.follow_up, t, false).0
        } else {
            t + rng.range(3600, 2 * 86_400)
        }
    };
    if rng.chance(0.8) {
        t = solve_at(data, rng, t, status);
        if !apply(
            data,
            t,
            agent as i64,
            vec![Edit::Status(TicketStatus::Solved)],
            reply(agent, true, "Solved."),
        ) {
            return;
        }
        if rng.chance(0.1) {
            t += rng.range(3600, 3 * 86_400);
            if !apply(
                data,
                t,
                requester as i64,
                vec![Edit::Status(TicketStatus::Open)],
                reply(requester, true, "It is back."),
            ) {
                return;
            }
            match agent_reply(data, rng, extra, &mut apply, (t, t), ctx.follow_up, vec![]) {
                Some((at, _)) => t = at,
                None => return,
            }
            t = if ctx.prompt_updates {
                solve_at(data, rng, t, TicketStatus::Open)
            } else {
                t + rng.range(3600, 86_400)
            };
            if !apply(
                data,
                t,
                agent as i64,
                vec![Edit::Status(TicketStatus::Solved)],
                reply(agent, true, "Solved again."),
            ) {
                return;
            }
        }
        if rng.chance(0.6)
            && !apply(
                data,
                t + 4 * 86_400,
                super::SYSTEM_UPDATER,
                vec![Edit::Status(TicketStatus::Closed)],
                None,
            )
        {
            return;
        }
    } else if ctx.prompt_updates && status == TicketStatus::Open {
        // Not solved: a desk that keeps its updates waits on the customer
        // rather than leaving the ticket open and silent.
        t = solve_at(data, rng, t, status);
        if !apply(
            data,
            t,
            agent as i64,
            vec![Edit::Status(TicketStatus::Pending)],
            reply(agent, true, "Could you confirm it works for you now?"),
        ) {
            return;
        }
    }
    if rng.chance(ctx.deletion_rate) {
        let at = t + rng.range(3600, 5 * 86_400);
        if at <= end {
            let _ = data.delete_ticket(id, at);
        }
    }
}
