//! The UTC offset of a time zone as a list of constant-offset segments.
//!
//! chrono-tz answers "what is the offset at instant t", but not "where are the
//! transitions". Business windows are defined in local wall-clock time, and the
//! set of UTC instants whose local time falls in a window is exact only when we
//! know every transition around it. So we find them: sample the offset every
//! [`SCAN_STEP`] seconds and bisect each step where it changed down to the
//! second.
//!
//! Guarantee: every transition is found, provided no two transitions lie within
//! one scan step of each other. No IANA zone since 1970 has had two transitions
//! less than a day apart, and the step is one hour.

use chrono::{DateTime, Offset, TimeZone};
use chrono_tz::Tz;

/// How far apart offsets are sampled before bisecting.
const SCAN_STEP: i64 = 3600;

/// A half-open UTC range `[start, end)` in which the zone's offset is constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OffsetSegment {
    pub start: i64,
    pub end: i64,
    /// Local time minus UTC, in seconds.
    pub offset: i64,
}

/// The zone's offset (local minus UTC, seconds) at the UTC instant `t`.
pub(crate) fn offset_at(tz: Tz, t: i64) -> i64 {
    // `t` is always inside the supported range (see `calendar::MIN_INSTANT`),
    // which chrono represents; the fallback only guards the arithmetic.
    let Some(utc) = DateTime::from_timestamp(t, 0) else {
        return 0;
    };
    i64::from(
        tz.offset_from_utc_datetime(&utc.naive_utc())
            .fix()
            .local_minus_utc(),
    )
}

/// Constant-offset segments covering `[from, to)`, in order, adjacent.
pub(crate) fn offset_segments(tz: Tz, from: i64, to: i64) -> Vec<OffsetSegment> {
    let mut segments = Vec::with_capacity(4);
    let mut segment_start = from;
    let mut current = offset_at(tz, from);
    let mut probe = from;
    while probe < to {
        let next = (probe + SCAN_STEP).min(to);
        let offset = offset_at(tz, next);
        if offset != current {
            // Bisect (probe, next]: find the first second with the new offset.
            let (mut lo, mut hi) = (probe, next);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if offset_at(tz, mid) == current {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            segments.push(OffsetSegment {
                start: segment_start,
                end: hi,
                offset: current,
            });
            segment_start = hi;
            current = offset_at(tz, hi);
        }
        probe = next;
    }
    segments.push(OffsetSegment {
        start: segment_start,
        end: to,
        offset: current,
    });
    segments
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    #[test]
    fn los_angeles_2026_has_both_transitions_to_the_second() {
        let segs = offset_segments(
            chrono_tz::America::Los_Angeles,
            ts("2026-01-01T00:00:00Z"),
            ts("2027-01-01T00:00:00Z"),
        );
        assert_eq!(segs.len(), 3);
        // 2026-03-08 02:00 PST = 10:00 UTC; 2026-11-01 02:00 PDT = 09:00 UTC.
        assert_eq!(segs[0].end, ts("2026-03-08T10:00:00Z"));
        assert_eq!(segs[0].offset, -8 * 3600);
        assert_eq!(segs[1].offset, -7 * 3600);
        assert_eq!(segs[1].end, ts("2026-11-01T09:00:00Z"));
        assert_eq!(segs[2].offset, -8 * 3600);
    }

    #[test]
    fn utc_is_one_segment() {
        let segs = offset_segments(chrono_tz::UTC, 0, 86400 * 400);
        assert_eq!(
            segs,
            vec![OffsetSegment {
                start: 0,
                end: 86400 * 400,
                offset: 0
            }]
        );
    }
}
