//! The wall clock, read in one place: the pure core never reads it (callers
//! pass "now"), the daemon, server, demo and emulator do through here.

/// Now, in Unix seconds.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
