//! The C test components under `tests/guests-c/`, built once per test run by its `build.sh`
//! (clang for wasm32-wasi, linked into a component by `wasm-component-ld`) into
//! `<target-dir>/wasm-guests-c`. A machine without the C toolchain fails here, naming the
//! Debian packages to install.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The bytes of the component built from `tests/guests-c/<name>.c`.
pub(crate) fn c_guest(name: &str) -> Vec<u8> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = match BUILT.get_or_init(build_c_guests) {
        Ok(dir) => dir,
        Err(reason) => panic!("{reason}"),
    };
    let path = dir.join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("no component at {}: {e}", path.display()))
}

fn build_c_guests() -> Result<PathBuf, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/guests-c/build.sh");
    let out_dir = target_root()?.join("wasm-guests-c");
    let output = Command::new("bash")
        .arg(&script)
        .arg(&out_dir)
        .output()
        .map_err(|e| format!("could not run bash to build the C test components: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "building the C test components ({}) failed:\n{}",
            script.display(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(out_dir)
}

/// The target directory this test binary was built in (`<target>/debug/deps/host-…`).
fn target_root() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("where is this test binary? {e}"))?;
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .ok_or_else(|| format!("unexpected test binary path {}", exe.display()))
}
