//! Durations as Statefun module files write them (Flink's format): a whole number and an
//! optional unit, `10s`, `1 min`, `500ms`, `2h`; no unit means milliseconds.

use std::time::Duration;

/// The units accepted, with their length in nanoseconds.
const UNITS: &[(&[&str], u64)] = &[
    (&["d", "day", "days"], 86_400_000_000_000),
    (&["h", "hour", "hours"], 3_600_000_000_000),
    (&["m", "min", "minute", "minutes"], 60_000_000_000),
    (&["s", "sec", "secs", "second", "seconds"], 1_000_000_000),
    (&["ms", "milli", "millis", "millisecond", "milliseconds"], 1_000_000),
    (&["us", "µs", "micro", "micros", "microsecond", "microseconds"], 1_000),
    (&["ns", "nano", "nanos", "nanosecond", "nanoseconds"], 1),
];

/// Parses a duration; the error says what is expected.
pub(super) fn parse(text: &str) -> Result<Duration, String> {
    let expected = || "expected a duration such as `10s`, `1 min` or `500ms`".to_owned();
    let text = text.trim();
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: u64 = number.parse().map_err(|_| expected())?;
    let unit = unit.trim().to_lowercase();
    let nanos_per_unit = if unit.is_empty() {
        1_000_000
    } else {
        UNITS
            .iter()
            .find(|(names, _)| names.contains(&unit.as_str()))
            .map(|(_, nanos)| *nanos)
            .ok_or_else(expected)?
    };
    number
        .checked_mul(nanos_per_unit)
        .map(Duration::from_nanos)
        .ok_or_else(|| "the duration is too long".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flink_durations_parse() {
        assert_eq!(parse("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse("1 min"), Ok(Duration::from_secs(60)));
        assert_eq!(parse("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse("250"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("2 H"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse("5ms"), Ok(Duration::from_millis(5)));
    }

    #[test]
    fn bad_durations_say_what_is_expected() {
        for bad in ["", "ten seconds", "10 parsecs", "-1s", "1.5s"] {
            assert!(parse(bad).unwrap_err().contains("expected a duration"), "{bad}");
        }
        assert!(parse("99999999999d").unwrap_err().contains("too long"));
    }
}
