//! Running the toolchain: checking that it can build components, and `cargo build` with
//! `--message-format=json`, whose compiler errors are kept with their crate and place.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::Toolchain;
use crate::error::Error;

/// Fails, saying what to install, when `cargo` cannot run or the target is missing.
pub(crate) fn check(toolchain: &Toolchain) -> Result<(), Error> {
    let missing = |reason: String| Error::CargoMissing {
        cargo: toolchain.cargo.display().to_string(),
        reason,
        target: toolchain.target.clone(),
    };
    let version =
        Command::new(&toolchain.cargo).arg("--version").output().map_err(|e| missing(e.to_string()))?;
    if !version.status.success() {
        return Err(missing(String::from_utf8_lossy(&version.stderr).trim().to_owned()));
    }
    let sysroot = Command::new(&toolchain.rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| missing(format!("`{} --print sysroot`: {e}", toolchain.rustc.display())))?;
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_owned();
    if sysroot.is_empty() || !Path::new(&sysroot).join("lib/rustlib").join(&toolchain.target).is_dir() {
        return Err(Error::TargetMissing { target: toolchain.target.clone(), sysroot });
    }
    Ok(())
}

/// What `rustc -V` says, run where cargo will run (the nearest existing directory holding
/// `dir`, so a `rust-toolchain.toml` above it picks the same toolchain); empty when it cannot
/// run (then the build finds no components under that hash, and [`check`] says what is missing).
pub(crate) fn rustc_version(toolchain: &Toolchain, dir: &Path) -> String {
    let Some(existing) = dir.ancestors().find(|dir| dir.is_dir()) else { return String::new() };
    Command::new(&toolchain.rustc)
        .arg("-V")
        .current_dir(existing)
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// A compiler error, as cargo reported it.
#[derive(Debug, Clone)]
pub(crate) struct Diagnostic {
    /// The `src/lib.rs` of the crate it is in (absolute).
    pub(crate) crate_source: PathBuf,
    /// The primary span's file, as rustc named it.
    pub(crate) file: String,
    /// The primary span's 1-based line and column.
    pub(crate) line: usize,
    pub(crate) column: usize,
    /// `E0425`.
    pub(crate) code: Option<String>,
    /// The message, with the primary span's label.
    pub(crate) message: String,
    /// The message as rustc prints it.
    pub(crate) rendered: String,
}

/// What a `cargo build` produced.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Whether it succeeded.
    pub(crate) success: bool,
    /// Its exit status, for messages.
    pub(crate) status: String,
    /// The errors.
    pub(crate) errors: Vec<Diagnostic>,
    /// Each cdylib built: its package's `src/lib.rs` and its `.wasm` file.
    pub(crate) artifacts: Vec<(PathBuf, PathBuf)>,
    /// What cargo printed on stderr.
    pub(crate) stderr: String,
}

/// `cargo build --release --target <target>` of the workspace in `dir`.
pub(crate) fn build(toolchain: &Toolchain, dir: &Path, target_dir: &Path) -> Result<Outcome, Error> {
    let output = Command::new(&toolchain.cargo)
        .args([
            "build",
            "--release",
            // Every crate's errors at once, not only the first failing crate's.
            "--keep-going",
            "--message-format=json",
            "--target",
            &toolchain.target,
            "--manifest-path",
        ])
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .map_err(|e| Error::CargoMissing {
            cargo: toolchain.cargo.display().to_string(),
            reason: e.to_string(),
            target: toolchain.target.clone(),
        })?;
    let mut outcome = Outcome {
        success: output.status.success(),
        status: output.status.to_string(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        ..Outcome::default()
    };
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<Value>(line) else { continue };
        let crate_source = PathBuf::from(message["target"]["src_path"].as_str().unwrap_or_default());
        match message["reason"].as_str() {
            Some("compiler-message") => {
                if let Some(diagnostic) = diagnostic(&message["message"], crate_source) {
                    outcome.errors.push(diagnostic);
                }
            }
            Some("compiler-artifact") => {
                let wasm = message["filenames"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .find(|name| name.ends_with(".wasm"));
                if let Some(wasm) = wasm {
                    outcome.artifacts.push((crate_source, PathBuf::from(wasm)));
                }
            }
            _ => {}
        }
    }
    Ok(outcome)
}

/// An error of a `compiler-message`; `None` for warnings and notes.
fn diagnostic(message: &Value, crate_source: PathBuf) -> Option<Diagnostic> {
    if !message["level"].as_str().is_some_and(|level| level.starts_with("error")) {
        return None;
    }
    let spans = message["spans"].as_array();
    let primary = spans.into_iter().flatten().find(|span| span["is_primary"].as_bool() == Some(true));
    let text = message["message"].as_str().unwrap_or("error").to_owned();
    let (file, line, column, label) = match primary {
        Some(span) => (
            span["file_name"].as_str().unwrap_or_default().to_owned(),
            span["line_start"].as_u64().unwrap_or(0) as usize,
            span["column_start"].as_u64().unwrap_or(0) as usize,
            span["label"].as_str().map(str::to_owned),
        ),
        None => (String::new(), 0, 0, None),
    };
    let message_text = match label {
        Some(label) if !label.is_empty() && !text.contains(&label) => format!("{text} ({label})"),
        _ => text,
    };
    Some(Diagnostic {
        crate_source,
        file,
        line,
        column,
        code: message["code"]["code"].as_str().map(str::to_owned),
        message: message_text,
        rendered: message["rendered"].as_str().unwrap_or_default().to_owned(),
    })
}
