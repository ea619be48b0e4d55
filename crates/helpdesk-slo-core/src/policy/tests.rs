//! Loading a config with included files, through a resolver and no file
//! system.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::{Config, ConfigError, MemoryFiles};

const CONFIG: &str = "\
calendars:
  support:
    timezone: Europe/London
    hours: { mon-fri: [\"09:00-17:00\"] }
    holidays:
      - 2026-12-24
      - file: holidays/uk.ics
";

const ICS: &str = "\
BEGIN:VCALENDAR
VERSION:2.0
BEGIN:VEVENT
DTSTART;VALUE=DATE:20260831
SUMMARY:Summer bank holiday
END:VEVENT
END:VCALENDAR
";

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn an_ics_include_is_read_through_the_resolver_relative_to_the_config_folder() {
    let files = MemoryFiles::new().with("teams/holidays/uk.ics", ICS);
    let cfg = Config::from_yaml_with(CONFIG, Path::new("teams/support.yaml"), &files)
        .unwrap_or_else(|e| panic!("{e}"));
    let cal = cfg.calendar("support").unwrap();
    assert!(cal.rules().holidays.contains(&date(2026, 8, 31)));
    assert!(cal.rules().holidays.contains(&date(2026, 12, 24)));
    assert!(!cal.is_business_day(date(2026, 8, 31)), "a Monday holiday");
    assert!(cal.is_business_day(date(2026, 9, 1)));

    // The hash covers the included file's text, not just the config's.
    let other =
        MemoryFiles::new().with("teams/holidays/uk.ics", ICS.replace("20260831", "20260601"));
    let cfg2 = Config::from_yaml_with(CONFIG, Path::new("teams/support.yaml"), &other).unwrap();
    assert_ne!(cfg.hash, cfg2.hash);
    assert!(cfg2
        .calendar("support")
        .unwrap()
        .rules()
        .holidays
        .contains(&date(2026, 6, 1)));

    // A config path without a folder: the include is asked for as written.
    let here = MemoryFiles::new().with("holidays/uk.ics", ICS);
    assert!(Config::from_yaml_with(CONFIG, Path::new("support.yaml"), &here).is_ok());
}

#[test]
fn a_failing_resolver_is_an_error_naming_the_include_and_the_key() {
    // The resolver has the file, but not where the config's folder puts it.
    let files = MemoryFiles::new().with("holidays/uk.ics", ICS);
    let err = Config::from_yaml_with(CONFIG, Path::new("teams/support.yaml"), &files).unwrap_err();
    assert_eq!(
        err,
        ConfigError {
            file: PathBuf::from("teams/support.yaml"),
            line: Some(7),
            column: None,
            key: Some("calendars.support.holidays[1]".to_string()),
            message: "cannot read holiday file \"holidays/uk.ics\" (looked for \
                      teams/holidays/uk.ics): no such file among the files given in memory"
                .to_string(),
        }
    );
    assert_eq!(
        err.to_string(),
        "teams/support.yaml:7: calendars.support.holidays[1]: cannot read holiday file \
         \"holidays/uk.ics\" (looked for teams/holidays/uk.ics): \
         no such file among the files given in memory"
    );
}

#[test]
fn an_error_in_an_included_file_names_that_file_and_its_line() {
    let bad = ICS.replace("DTSTART;VALUE=DATE:20260831", "DTSTART:20260831T090000Z");
    let files = MemoryFiles::new().with("teams/holidays/uk.ics", bad);
    let err = Config::from_yaml_with(CONFIG, Path::new("teams/support.yaml"), &files).unwrap_err();
    assert_eq!(err.file, PathBuf::from("teams/holidays/uk.ics"));
    assert_eq!(err.line, Some(4));
    assert!(err.message.contains("all-day"), "{}", err.message);
}

#[test]
fn from_yaml_loads_configs_without_includes_and_refuses_includes() {
    let plain = CONFIG.replace("      - file: holidays/uk.ics\n", "");
    assert!(Config::from_yaml(&plain, Path::new("support.yaml")).is_ok());
    let err = Config::from_yaml(CONFIG, Path::new("support.yaml")).unwrap_err();
    assert_eq!(err.key.as_deref(), Some("calendars.support.holidays[1]"));
    assert_eq!(err.line, Some(7));
    assert!(
        err.message
            .starts_with("cannot read holiday file \"holidays/uk.ics\" (looked for holidays/uk.ics): this config was loaded without access to files"),
        "{}",
        err.message
    );
}

#[test]
fn credit_thresholds_are_read_as_exact_fractions() {
    use super::spec::{parse_fraction, Fraction};
    let f = |num, den| Ok(Fraction { num, den });
    assert_eq!(parse_fraction("10.1%"), f(101, 1000));
    assert_eq!(parse_fraction("0.101"), f(101, 1000));
    assert_eq!(parse_fraction(" 4 % "), f(1, 25));
    assert_eq!(parse_fraction("10.10%"), f(101, 1000));
    assert_eq!(parse_fraction("1e-1"), f(1, 10));
    assert_eq!(parse_fraction("100%"), f(1, 1));
    assert_eq!(parse_fraction("0%"), f(0, 1));
    assert_eq!(parse_fraction("-0"), f(0, 1));
    assert_eq!(parse_fraction(".5"), f(1, 2));
    for outside in ["100.1%", "1.5", "-4%", "2", "1e1"] {
        let e = parse_fraction(outside).unwrap_err();
        assert!(e.contains("outside 0%..100%"), "{outside}: {e}");
    }
    for wrong in ["ten", "", "%", ".", "1e", "4%%", "inf", "NaN"] {
        let e = parse_fraction(wrong).unwrap_err();
        assert!(e.contains("is not a ratio"), "{wrong}: {e}");
    }
    assert!(parse_fraction("0.0000000000000000001")
        .unwrap_err()
        .contains("more digits"));
    // Exact comparison: 101 of 1000 equals 10.1%; 102 is above.
    let t = parse_fraction("10.1%").unwrap();
    assert!(t.cmp_share(101, 1000).is_eq());
    assert!(t.cmp_share(102, 1000).is_gt());
    assert!(t.cmp_share(u64::MAX, u64::MAX).is_gt());
    assert!(t.cmp_share(0, 0).is_lt());
}

/// A syntax error late in the file is reported at its line, as the YAML
/// parser sees it, not as a name the broken part would have defined.
#[test]
fn a_syntax_error_is_reported_first_at_its_own_line() {
    let good = "calendars:\n  office: { timezone: Europe/London, hours: { mon-fri: [\"09:00-17:30\"] } }\n\
                severities:\n  - { name: urgent, priorities: [urgent] }\n  - { name: normal, priorities: [normal] }\n\
                default_severity: normal\n\
                metrics:\n  first_response: { kind: first_response }\n\
                plans:\n  standard:\n    default: true\n    calendar: office\n    targets:\n\
                \x20     urgent: { first_response: 1h }\n";
    assert!(Config::from_yaml(good, Path::new("c.yaml")).is_ok());
    for (broken, what) in [
        ("\t  normal: { first_response: 8h }\n", "a tab"),
        ("      normal: \"unclosed\n", "an unclosed quote"),
        ("    normal: { first_response: 8h }\n", "a bad indent"),
    ] {
        let text = format!("{good}{broken}");
        let e = Config::from_yaml(&text, Path::new("c.yaml")).unwrap_err();
        assert!(
            e.line.is_some_and(|l| l >= 15),
            "{what}: reported at {:?}: {e}",
            e.line
        );
        assert!(!e.to_string().contains("unknown severity"), "{what}: {e}");
    }
}

/// The hash of a config without included files is that of its text; the
/// hash its clocks are stored under adds the engine's source, so clocks
/// stored by another build of the engine are not taken for this one's.
#[test]
fn the_clocks_hash_covers_the_config_and_the_engine_source() {
    use sha2::{Digest, Sha256};
    let hex = |bytes: &[u8]| -> String { bytes[..8].iter().map(|b| format!("{b:02x}")).collect() };
    let text =
        "calendars:\n  support:\n    timezone: UTC\n    hours: { mon-fri: [\"09:00-17:00\"] }\n";
    let config = Config::from_yaml(text, Path::new("c.yaml")).unwrap();
    assert_eq!(config.hash, hex(&Sha256::digest(text.as_bytes())));
    let clocks = Sha256::new()
        .chain_update(config.hash.as_bytes())
        .chain_update(super::ENGINE_SOURCE.as_bytes())
        .finalize();
    assert_eq!(config.clocks_hash, hex(&clocks));
    assert_ne!(config.clocks_hash, config.hash);
    assert_eq!(super::ENGINE_SOURCE.len(), 16);
}
