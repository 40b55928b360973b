//! The test components under `crates/wasm/tests/guests/`, built once per test process with
//! `cargo build --release --target wasm32-wasip2` into `<target-dir>/wasm-guests`, for the
//! tests of any crate (the WebAssembly host's, the engine's, the CLI's).
//!
//! A machine without the `wasm32-wasip2` target fails here, saying how to add it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The WebAssembly target the guests are built for.
pub const TARGET: &str = "wasm32-wasip2";

/// The path of the component built from `crates/wasm/tests/guests/<name>`.
///
/// # Panics
/// When the guests cannot be built (the message says why and what to install) or the
/// component does not exist: this is test support.
pub fn component(name: &str) -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = match BUILT.get_or_init(build_guests) {
        Ok(dir) => dir,
        Err(reason) => panic!("{reason}"),
    };
    let path = dir.join(format!("guest_{}.wasm", name.replace('-', "_")));
    assert!(path.is_file(), "no component at {}", path.display());
    path
}

/// The bytes of the component built from `crates/wasm/tests/guests/<name>`.
///
/// # Panics
/// As [`component`].
pub fn component_bytes(name: &str) -> Vec<u8> {
    let path = component(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn build_guests() -> Result<PathBuf, String> {
    check_target_installed()?;
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wasm/tests/guests/Cargo.toml");
    let target_dir = target_root()?.join("wasm-guests");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args(["build", "--release", "--quiet", "--target", TARGET, "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .map_err(|e| format!("could not run cargo to build the test components: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "building the test components ({}) failed:\n{}",
            manifest.display(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(target_dir.join(TARGET).join("release"))
}

/// Fails, naming the command to run, when the Rust toolchain lacks the WebAssembly target.
fn check_target_installed() -> Result<(), String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let output = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("could not run `{rustc} --print sysroot`: {e}"))?;
    let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if Path::new(&sysroot).join("lib/rustlib").join(TARGET).is_dir() {
        return Ok(());
    }
    Err(format!(
        "the Rust target {TARGET} is not installed (looked in {sysroot}/lib/rustlib), so the test \
         components cannot be built: run `rustup target add {TARGET}`"
    ))
}

/// The target directory the running test binary was built in (`<target>/debug/deps/<test>-…`).
fn target_root() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("where is this test binary? {e}"))?;
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .ok_or_else(|| format!("unexpected test binary path {}", exe.display()))
}
