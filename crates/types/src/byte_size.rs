//! Byte sizes written the way people write them: `512`, `64KiB`, `1 GiB`, `10MB`.

use std::{fmt, str::FromStr};

/// A size in bytes that parses from and prints as a human-friendly string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(pub u64);

/// Why a string is not a byte size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid size '{input}': {reason} (examples: 512, 64KiB, 10MB, 1GiB)")]
pub struct ParseByteSizeError {
    input: String,
    reason: &'static str,
}

const UNITS: &[(&str, u64)] = &[
    ("b", 1),
    ("kb", 1_000),
    ("kib", 1 << 10),
    ("k", 1 << 10),
    ("mb", 1_000_000),
    ("mib", 1 << 20),
    ("m", 1 << 20),
    ("gb", 1_000_000_000),
    ("gib", 1 << 30),
    ("g", 1 << 30),
    ("tb", 1_000_000_000_000),
    ("tib", 1 << 40),
    ("t", 1 << 40),
];

impl FromStr for ByteSize {
    type Err = ParseByteSizeError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| ParseByteSizeError { input: input.to_owned(), reason };
        let trimmed = input.trim();
        let split = trimmed.find(|c: char| !c.is_ascii_digit()).unwrap_or(trimmed.len());
        let (digits, unit) = trimmed.split_at(split);
        if digits.is_empty() {
            return Err(err("expected a number"));
        }
        let number: u64 = digits.parse().map_err(|_| err("number too large"))?;
        let unit = unit.trim().to_ascii_lowercase();
        let multiplier = if unit.is_empty() {
            1
        } else {
            UNITS
                .iter()
                .find(|(name, _)| *name == unit)
                .map(|(_, m)| *m)
                .ok_or_else(|| err("unknown unit"))?
        };
        number.checked_mul(multiplier).map(ByteSize).ok_or_else(|| err("size too large"))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const BINARY: &[(&str, u64)] =
            &[("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
        for (name, size) in BINARY {
            if self.0 >= *size {
                if self.0.is_multiple_of(*size) {
                    return write!(f, "{}{name}", self.0 / size);
                }
                return write!(f, "{:.1}{name}", self.0 as f64 / *size as f64);
            }
        }
        write!(f, "{}B", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_spellings() {
        assert_eq!("512".parse(), Ok(ByteSize(512)));
        assert_eq!("64KiB".parse(), Ok(ByteSize(64 << 10)));
        assert_eq!("1 GiB".parse(), Ok(ByteSize(1 << 30)));
        assert_eq!("10MB".parse(), Ok(ByteSize(10_000_000)));
        assert_eq!("2g".parse(), Ok(ByteSize(2 << 30)));
    }

    #[test]
    fn rejects_broken_input() {
        for bad in ["", "GiB", "12 parsecs", "-1", "1.5GiB", "99999999999999999999", "99999999999TiB"] {
            let err = bad.parse::<ByteSize>().unwrap_err();
            assert!(err.to_string().contains("invalid size"), "{bad}: {err}");
        }
    }

    #[test]
    fn prints_in_binary_units() {
        assert_eq!(ByteSize(1 << 30).to_string(), "1GiB");
        assert_eq!(ByteSize(1536).to_string(), "1.5KiB");
        assert_eq!(ByteSize(12).to_string(), "12B");
    }
}
