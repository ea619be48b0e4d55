//! Burn-rate windows and factors (Google SRE Workbook, "Alerting on SLOs",
//! multiwindow multi-burn-rate alerts) for a plan's objective.
//!
//! A burn rate is the breach share of the clocks decided in a window divided
//! by the share the objective allows (`1 − objective`). The highest burn rate
//! a window can show is therefore `1 / (1 − objective)`, reached when every
//! clock in it breached. A factor at or above that can never fire (14.4x at a
//! 90% objective, whose burn rate tops out at 10x): such a factor is replaced
//! by 90% of the highest burn rate, rounded down to one decimal, so the alert
//! fires when nine clocks in ten breach, and the replacement is written into
//! the generated file's comments.

use std::fmt::Write;

/// The period the error budget is spent over, as in the SRE Workbook.
pub const BUDGET_PERIOD_DAYS: u32 = 30;

/// One alert of a multiwindow pair: the burn rate must exceed `factor` over
/// both the long window (is it significant?) and the short one (is it still
/// happening?).
#[derive(Debug, Clone, PartialEq)]
pub struct BurnPair {
    /// The alert's `severity` label: `page` or `ticket`.
    pub severity: &'static str,
    pub long: &'static str,
    pub long_seconds: u32,
    pub short: &'static str,
    /// The Workbook's factor for a 30-day budget.
    pub workbook_factor: f64,
    /// The factor the rule uses: the Workbook's, or its reachable
    /// replacement.
    pub factor: f64,
}

impl BurnPair {
    /// Whether the Workbook's factor could not fire and was replaced.
    pub fn replaced(&self) -> bool {
        self.factor != self.workbook_factor
    }

    /// Share of the 30-day budget spent when the alert fires at its factor
    /// (0.02 for 14.4x over 1h).
    pub fn budget_spent(&self) -> f64 {
        self.factor * f64::from(self.long_seconds) / f64::from(BUDGET_PERIOD_DAYS * 86_400)
    }
}

/// The Workbook's pairs: two that page, two that open a ticket.
const WORKBOOK: [(&str, &str, u32, &str, f64); 4] = [
    ("page", "1h", 3_600, "5m", 14.4),
    ("page", "6h", 21_600, "30m", 6.0),
    ("ticket", "1d", 86_400, "2h", 3.0),
    ("ticket", "3d", 259_200, "6h", 1.0),
];

/// Every window the rules record a burn rate for.
pub const WINDOWS: [&str; 7] = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"];

/// The highest burn rate a window can show under an objective.
pub fn max_burn_rate(objective: f64) -> f64 {
    1.0 / (1.0 - objective)
}

/// The burn-rate pairs for an objective, unreachable factors replaced.
///
/// An objective of 100% leaves no error budget (any breach is an infinite
/// burn rate) and one of 0% promises nothing: both are errors.
pub fn pairs(objective: f64) -> Result<Vec<BurnPair>, String> {
    if !(objective > 0.0 && objective < 1.0) {
        return Err(format!(
            "objective {}: burn-rate alerts need an objective above 0% and below 100% \
             (100% leaves no error budget to burn)",
            percent(objective)
        ));
    }
    let max = max_burn_rate(objective);
    let reachable = (max * 0.9 * 10.0).floor() / 10.0;
    Ok(WORKBOOK
        .iter()
        .map(
            |&(severity, long, long_seconds, short, workbook_factor)| BurnPair {
                severity,
                long,
                long_seconds,
                short,
                workbook_factor,
                factor: if workbook_factor >= max {
                    reachable
                } else {
                    workbook_factor
                },
            },
        )
        .collect())
}

/// `96%`, `99.5%`: an objective as people write it.
pub fn percent(ratio: f64) -> String {
    let p = (ratio * 100_000.0).round() / 1000.0;
    format!("{p}%")
}

/// A factor as the rules write it: `14.4`, `6`, `9`.
pub fn factor_text(factor: f64) -> String {
    format!("{}", (factor * 10.0).round() / 10.0)
}

/// The comment block that explains a plan's pairs.
pub fn explain(plan: &str, objective: f64, pairs: &[BurnPair]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Plan {plan}: objective {}, error budget {} of decided clocks, highest possible burn rate {}x.",
        percent(objective),
        percent(1.0 - objective),
        factor_text(max_burn_rate(objective)),
    );
    for p in pairs {
        let _ = write!(
            out,
            "#   {:<6} burn > {}x over {} and {} ({} of the {}-day budget)",
            p.severity,
            factor_text(p.factor),
            p.long,
            p.short,
            percent(p.budget_spent()),
            BUDGET_PERIOD_DAYS,
        );
        if p.replaced() {
            let _ = write!(
                out,
                "; the Workbook's {}x can never fire at this objective, replaced by 90% of the highest",
                factor_text(p.workbook_factor)
            );
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workbook_factors_stand_when_reachable() {
        let p = pairs(0.96).unwrap();
        let f: Vec<f64> = p.iter().map(|p| p.factor).collect();
        assert_eq!(f, vec![14.4, 6.0, 3.0, 1.0]);
        assert!(p.iter().all(|p| !p.replaced()));
        assert!((p[0].budget_spent() - 0.02).abs() < 1e-9);
        assert!((p[1].budget_spent() - 0.05).abs() < 1e-9);
        assert!((p[2].budget_spent() - 0.10).abs() < 1e-9);
        assert!((p[3].budget_spent() - 0.10).abs() < 1e-9);
    }

    #[test]
    fn unreachable_factors_are_replaced_by_a_reachable_one() {
        // 90%: the burn rate tops out at 10x; 14.4x could never fire.
        let p = pairs(0.90).unwrap();
        assert_eq!(p[0].factor, 9.0);
        assert!(p[0].replaced());
        assert_eq!(p[1].factor, 6.0);
        // 80%: at most 5x; both paging factors become 4.5x.
        let p = pairs(0.80).unwrap();
        assert_eq!(
            p.iter().map(|p| p.factor).collect::<Vec<_>>(),
            vec![4.5, 4.5, 3.0, 1.0]
        );
        // At exactly the highest burn rate, a `>` comparison never fires.
        let p = pairs(0.5).unwrap();
        assert_eq!(
            p.iter().map(|p| p.factor).collect::<Vec<_>>(),
            vec![1.8, 1.8, 1.8, 1.0]
        );
        for objective in [0.01, 0.3, 0.5, 0.8, 0.9, 0.93, 0.95, 0.99, 0.999] {
            for pair in pairs(objective).unwrap() {
                assert!(
                    pair.factor < max_burn_rate(objective) && pair.factor > 0.0,
                    "{objective}: {pair:?}"
                );
            }
        }
    }

    #[test]
    fn objectives_without_a_budget_are_rejected() {
        assert!(pairs(1.0).unwrap_err().contains("no error budget"));
        assert!(pairs(0.0).is_err());
    }

    #[test]
    fn explain_names_the_replacement() {
        let text = explain("internal", 0.9, &pairs(0.9).unwrap());
        assert!(text.contains("highest possible burn rate 10x"), "{text}");
        assert!(text.contains("14.4x can never fire"), "{text}");
        assert_eq!(percent(0.96), "96%");
        assert_eq!(percent(0.995), "99.5%");
    }
}
