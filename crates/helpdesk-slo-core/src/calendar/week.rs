//! Weekly opening hours in local wall-clock time.
//!
//! A window is written `HH:MM-HH:MM` (seconds optional: `HH:MM:SS`). It may end
//! at `24:00`. A window whose end is before its start (`22:00-06:00`) runs past
//! midnight into the next day. Windows are stored per weekday as sorted,
//! non-overlapping `[start, end)` second-of-day ranges; adjacent windows
//! (`08:00-12:00` and `12:00-17:00`) merge into one.

use std::fmt;

use chrono::Weekday;

/// Seconds in a wall-clock day (a DST day still has 24 wall-clock hours of
/// labels; the calendar maps them to 23 or 25 real hours).
pub const DAY: u32 = 86_400;

/// A `[start, end)` range of local second-of-day, `0 <= start < end <= 86400`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DayWindow {
    pub start: u32,
    pub end: u32,
}

impl DayWindow {
    /// A window; `None` unless `start < end <= 86400`.
    pub fn new(start: u32, end: u32) -> Option<Self> {
        (start < end && end <= DAY).then_some(Self { start, end })
    }

    /// Seconds in the window.
    pub fn len(&self) -> u32 {
        self.end - self.start
    }

    /// Never true: a window always has `start < end`.
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl fmt::Display for DayWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}",
            format_time_of_day(self.start),
            format_time_of_day(self.end)
        )
    }
}

/// `HH:MM` (or `HH:MM:SS` when the seconds are not zero).
pub fn format_time_of_day(secs: u32) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if s == 0 {
        format!("{h:02}:{m:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

/// A window as written in the config: its start and end as second-of-day.
/// `end <= start` means it runs past midnight (`end == 0` reads as `24:00`
/// only when written `24:00`; `00:00` as an end means midnight next day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrittenWindow {
    pub start: u32,
    pub end: u32,
}

impl WrittenWindow {
    /// The pieces this window contributes: on its own day, and (if it runs past
    /// midnight) on the next day.
    pub fn pieces(&self) -> (DayWindow, Option<DayWindow>) {
        if self.end > self.start {
            (
                DayWindow {
                    start: self.start,
                    end: self.end,
                },
                None,
            )
        } else {
            (
                DayWindow {
                    start: self.start,
                    end: DAY,
                },
                DayWindow::new(0, self.end),
            )
        }
    }
}

/// Parses `HH:MM[:SS]`; `24:00` is accepted only when `allow_24` is set.
fn parse_time_of_day(text: &str, allow_24: bool) -> Result<u32, String> {
    let parts: Vec<&str> = text.trim().split(':').collect();
    if !(2..=3).contains(&parts.len())
        || parts
            .iter()
            .any(|p| p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!(
            "\"{text}\" is not a time; write HH:MM such as 08:00 or 17:30"
        ));
    }
    let num = |i: usize| {
        parts
            .get(i)
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or(0)
    };
    let (h, m, s) = (num(0), num(1), num(2));
    if m > 59 || s > 59 {
        return Err("minutes and seconds run 00-59".to_string());
    }
    if h == 24 && m == 0 && s == 0 {
        return if allow_24 {
            Ok(DAY)
        } else {
            Err(format!(
                "\"{text}\": 24:00 can only end a window; a window starts at 00:00-23:59"
            ))
        };
    }
    if h > 23 {
        return Err(format!(
            "hour {h} is not valid; hours run 00-23, and 24:00 may end a window"
        ));
    }
    Ok(h * 3600 + m * 60 + s)
}

/// Parses a window `HH:MM-HH:MM`.
pub fn parse_window(text: &str) -> Result<WrittenWindow, String> {
    let Some((a, b)) = text.split_once('-') else {
        return Err(format!(
            "\"{text}\" is not a window; write HH:MM-HH:MM such as 08:00-17:00 (24:00 may end it; 22:00-06:00 runs past midnight)"
        ));
    };
    let start = parse_time_of_day(a, false).map_err(|e| format!("window \"{text}\": {e}"))?;
    let end = parse_time_of_day(b, true).map_err(|e| format!("window \"{text}\": {e}"))?;
    if start == end || (end == 0 && start == 0) {
        return Err(format!(
            "window \"{text}\" is empty; a whole day is 00:00-24:00"
        ));
    }
    Ok(WrittenWindow { start, end })
}

const DAY_NAMES: [(&str, &str); 7] = [
    ("mon", "monday"),
    ("tue", "tuesday"),
    ("wed", "wednesday"),
    ("thu", "thursday"),
    ("fri", "friday"),
    ("sat", "saturday"),
    ("sun", "sunday"),
];

fn parse_day(text: &str) -> Option<usize> {
    let t = text.trim().to_ascii_lowercase();
    DAY_NAMES
        .iter()
        .position(|(short, long)| t == *short || t == *long)
}

/// Parses a day key: `mon`, `monday`, a range `mon-fri` (wrapping: `fri-mon`),
/// a list `sat,sun`, or `daily`. Returns weekday indexes from Monday = 0.
pub fn parse_days(text: &str) -> Result<Vec<usize>, String> {
    let invalid = || {
        format!(
            "\"{text}\" is not a day; use mon, tue, wed, thu, fri, sat, sun, a range such as mon-fri, a list such as sat,sun, or daily"
        )
    };
    if text.trim().eq_ignore_ascii_case("daily") {
        return Ok((0..7).collect());
    }
    let mut days = Vec::new();
    for part in text.split(',') {
        if let Some((a, b)) = part.split_once('-') {
            let (a, b) = (
                parse_day(a).ok_or_else(invalid)?,
                parse_day(b).ok_or_else(invalid)?,
            );
            let mut d = a;
            loop {
                days.push(d);
                if d == b {
                    break;
                }
                d = (d + 1) % 7;
            }
        } else {
            days.push(parse_day(part).ok_or_else(invalid)?);
        }
    }
    Ok(days)
}

/// Day index (Monday = 0) as a short name.
pub fn day_name(day: usize) -> &'static str {
    DAY_NAMES.get(day).map_or("?", |(short, _)| short)
}

/// Opening hours for each weekday, Monday first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeeklyHours {
    days: [Vec<DayWindow>; 7],
}

impl WeeklyHours {
    /// Open around the clock, every day.
    pub fn always() -> Self {
        let all = vec![DayWindow { start: 0, end: DAY }];
        Self {
            days: std::array::from_fn(|_| all.clone()),
        }
    }

    /// Adds a window to one weekday (Monday = 0). Fails, naming both, if it
    /// overlaps a window already there; merges it with an adjacent one.
    pub fn add(&mut self, day: usize, window: DayWindow) -> Result<(), String> {
        let Some(list) = self.days.get_mut(day) else {
            return Err(format!("day index {day} is not a weekday"));
        };
        if let Some(clash) = list
            .iter()
            .find(|w| w.start < window.end && window.start < w.end)
        {
            return Err(format!(
                "{} {} overlaps {} {}; windows on one day must not overlap",
                day_name(day),
                window,
                day_name(day),
                clash
            ));
        }
        list.push(window);
        list.sort();
        let mut merged: Vec<DayWindow> = Vec::with_capacity(list.len());
        for w in list.drain(..) {
            match merged.last_mut() {
                Some(last) if last.end == w.start => last.end = w.end,
                _ => merged.push(w),
            }
        }
        *list = merged;
        Ok(())
    }

    /// Adds a window as written for `day`, splitting it at midnight if it runs
    /// into the next day.
    pub fn add_written(&mut self, day: usize, window: WrittenWindow) -> Result<(), String> {
        let (today, tomorrow) = window.pieces();
        self.add(day, today)?;
        if let Some(next) = tomorrow {
            self.add((day + 1) % 7, next)?;
        }
        Ok(())
    }

    /// The windows of a weekday, sorted and non-overlapping.
    pub fn on(&self, weekday: Weekday) -> &[DayWindow] {
        &self.days[weekday.num_days_from_monday() as usize]
    }

    /// Windows of the weekday with index `day` (Monday = 0).
    pub fn on_index(&self, day: usize) -> &[DayWindow] {
        self.days.get(day).map_or(&[], |d| d.as_slice())
    }

    /// Total open seconds per week.
    pub fn weekly_seconds(&self) -> u32 {
        self.days.iter().flatten().map(DayWindow::len).sum()
    }

    /// The default length of a business day: the most common non-zero daily
    /// open duration of the week (ties go to the longer one).
    pub fn typical_day_seconds(&self) -> u32 {
        let totals: Vec<u32> = self
            .days
            .iter()
            .map(|d| d.iter().map(DayWindow::len).sum::<u32>())
            .filter(|&t| t > 0)
            .collect();
        let mut best = (0usize, 0u32);
        for &t in &totals {
            let count = totals.iter().filter(|&&u| u == t).count();
            if (count, t) > best {
                best = (count, t);
            }
        }
        best.1
    }
}

/// Removes the closed ranges from the open windows of one day.
pub fn subtract(open: &[DayWindow], closed: &[DayWindow]) -> Vec<DayWindow> {
    let mut out = Vec::with_capacity(open.len() + closed.len());
    for w in open {
        let mut pieces = vec![*w];
        for c in closed {
            pieces = pieces
                .into_iter()
                .flat_map(|p| {
                    let left = DayWindow::new(p.start, c.start.min(p.end));
                    let right = DayWindow::new(c.end.max(p.start), p.end);
                    if c.end <= p.start || c.start >= p.end {
                        vec![p]
                    } else {
                        left.into_iter().chain(right).collect()
                    }
                })
                .collect();
        }
        out.extend(pieces);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(a: u32, b: u32) -> DayWindow {
        DayWindow::new(a * 3600, b * 3600).unwrap()
    }

    #[test]
    fn windows_parse_with_24_00_and_past_midnight() {
        assert_eq!(
            parse_window("08:00-17:00").unwrap(),
            WrittenWindow {
                start: 8 * 3600,
                end: 17 * 3600
            }
        );
        assert_eq!(parse_window("16:00-24:00").unwrap().end, DAY);
        let overnight = parse_window("22:00-06:00").unwrap();
        assert_eq!(overnight.pieces(), (w(22, 24), Some(w(0, 6))));
        assert_eq!(
            parse_window("22:00-00:00").unwrap().pieces(),
            (w(22, 24), None)
        );
    }

    #[test]
    fn bad_windows_say_what_is_valid() {
        let e = parse_window("08:00-25:00").unwrap_err();
        assert!(e.contains("hour 25 is not valid"), "{e}");
        assert!(parse_window("24:00-08:00")
            .unwrap_err()
            .contains("can only end"));
        assert!(parse_window("8-17").unwrap_err().contains("HH:MM"));
        assert!(parse_window("09:00-09:00").unwrap_err().contains("empty"));
        assert!(parse_window("09:60-10:00").unwrap_err().contains("00-59"));
        assert!(parse_window("0900").unwrap_err().contains("not a window"));
    }

    #[test]
    fn day_keys() {
        assert_eq!(parse_days("mon-fri").unwrap(), vec![0, 1, 2, 3, 4]);
        assert_eq!(parse_days("fri-mon").unwrap(), vec![4, 5, 6, 0]);
        assert_eq!(parse_days("sat,sun").unwrap(), vec![5, 6]);
        assert_eq!(parse_days("Sunday").unwrap(), vec![6]);
        assert_eq!(parse_days("daily").unwrap().len(), 7);
        assert!(parse_days("mo").unwrap_err().contains("mon-fri"));
    }

    #[test]
    fn overlaps_are_rejected_and_adjacent_windows_merge() {
        let mut h = WeeklyHours::default();
        h.add(5, w(10, 12)).unwrap();
        let e = h.add(5, w(11, 13)).unwrap_err();
        assert_eq!(
            e,
            "sat 11:00-13:00 overlaps sat 10:00-12:00; windows on one day must not overlap"
        );
        h.add(5, w(12, 14)).unwrap();
        assert_eq!(h.on(Weekday::Sat), &[w(10, 14)]);
    }

    #[test]
    fn typical_day_is_most_common_nonzero_length() {
        let mut h = WeeklyHours::default();
        for d in 0..5 {
            h.add(d, w(8, 17)).unwrap();
        }
        h.add(5, w(10, 12)).unwrap();
        assert_eq!(h.typical_day_seconds(), 9 * 3600);
        assert_eq!(WeeklyHours::always().typical_day_seconds(), DAY);
    }

    #[test]
    fn subtracting_closures() {
        assert_eq!(
            subtract(&[w(8, 17)], &[w(12, 13)]),
            vec![w(8, 12), w(13, 17)]
        );
        assert_eq!(subtract(&[w(8, 17)], &[w(12, 24)]), vec![w(8, 12)]);
        assert_eq!(subtract(&[w(8, 17)], &[w(0, 24)]), vec![]);
        assert_eq!(
            subtract(&[w(8, 10), w(11, 17)], &[w(9, 12)]),
            vec![w(8, 9), w(12, 17)]
        );
    }
}
