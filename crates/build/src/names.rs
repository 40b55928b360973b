//! Rust names for the names of a dataflow file: types become CamelCase (`sensor-reading` →
//! `SensorReading`, as in SDF), fields and states snake_case (`max-temp` → `max_temp`),
//! Rust keywords raw identifiers (`type` → `r#type`), and crates get names cargo accepts.

/// Words Rust reserves, which a field may still be called (as `r#word`).
const KEYWORDS: [&str; 50] = [
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false",
    "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while",
    "abstract", "become", "box", "do", "final", "gen", "macro", "override", "priv", "try", "typeof",
    "virtual",
];

/// Keywords that cannot be raw identifiers.
const NOT_RAW: [&str; 5] = ["crate", "self", "Self", "super", "_"];

/// `sensor-reading` → `SensorReading`; `None` when nothing of the name is usable.
pub(crate) fn type_name(name: &str) -> Option<String> {
    let mut out = String::new();
    for word in name.split(|c: char| !c.is_ascii_alphanumeric()).filter(|word| !word.is_empty()) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    match out.chars().next() {
        Some(first) if first.is_ascii_digit() => Some(format!("T{out}")),
        Some(_) => Some(out),
        None => None,
    }
}

/// `max-temp` → `max_temp`, `type` → `r#type`; `None` when nothing of the name is usable.
pub(crate) fn field_name(name: &str) -> Option<String> {
    let mut out: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if out.chars().all(|c| c == '_') {
        return None;
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if NOT_RAW.contains(&out.as_str()) {
        out.push('_');
    } else if KEYWORDS.contains(&out.as_str()) {
        out.insert_str(0, "r#");
    }
    Some(out)
}

/// A crate (package) name made of `parts`: lowercase letters, digits and `-`.
pub(crate) fn crate_name(parts: &[&str]) -> String {
    let mut out = String::new();
    for part in parts {
        for c in part.chars() {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
        }
        if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_owned();
    match out.chars().next() {
        Some(first) if first.is_ascii_alphabetic() => out,
        _ => format!("df-{out}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_rust_conventions() {
        assert_eq!(type_name("sensor-reading").as_deref(), Some("SensorReading"));
        assert_eq!(type_name("avg_temp").as_deref(), Some("AvgTemp"));
        assert_eq!(type_name("reading").as_deref(), Some("Reading"));
        assert_eq!(type_name("1st").as_deref(), Some("T1st"));
        assert_eq!(type_name("--"), None);
        assert_eq!(field_name("max-temp").as_deref(), Some("max_temp"));
        assert_eq!(field_name("type").as_deref(), Some("r#type"));
        assert_eq!(field_name("self").as_deref(), Some("self_"));
        assert_eq!(field_name("9lives").as_deref(), Some("_9lives"));
        assert_eq!(field_name("-"), None);
        assert_eq!(crate_name(&["Sensor Stats", "3"]), "sensor-stats-3");
        assert_eq!(crate_name(&["42", "x"]), "df-42-x");
    }
}
