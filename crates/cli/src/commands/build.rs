//! `eddy build <dataflow.yaml>`: compiles the dataflow's inline Rust functions (`run:`) and
//! the package functions its steps use (`uses:`, packages found through `dev.imports` or in
//! `<data-dir>/packages/<namespace>/<name>/<version>/`) into WebAssembly components in
//! `<data-dir>/build/<dataflow>/`, or says they are up to date. `eddy run` does the same
//! before it starts, when the file has `run:` or `uses:` steps.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::bail;
use clap::Args;
use eddy_build::{Built, Error, Options};

/// Arguments of `eddy build`.
#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    /// The dataflow file.
    pub(crate) file: PathBuf,
}

pub(crate) fn run(data_dir: &Path, args: &BuildArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let built = build(data_dir, &args.file)?;
    if built.components.is_empty() {
        println!("{} has no `run:` or `uses:` steps; nothing to build", args.file.display());
        return Ok(());
    }
    let count = built.components.len();
    let plural = if count == 1 { "" } else { "s" };
    if built.compiled {
        println!(
            "built {count} component{plural} of dataflow '{}' in {:.1}s:",
            built.dataflow,
            started.elapsed().as_secs_f64()
        );
    } else {
        println!("dataflow '{}': {count} component{plural} up to date:", built.dataflow);
    }
    for component in &built.components {
        println!("  {} ({}) → {}", component.origin, component.operator.name(), component.path.display());
    }
    Ok(())
}

/// Builds what is stale of `file`'s `run:` steps in `<data-dir>/build` (compiling in
/// `$CARGO_TARGET_DIR/eddy-build` when that is set); a file without `run:` steps builds
/// nothing. Compiler errors are printed one per line, placed in the
/// dataflow file.
pub(crate) fn build(data_dir: &Path, file: &Path) -> anyhow::Result<Built> {
    let mut options = Options::new(data_dir.join("build"));
    options.package_search.push(data_dir.join("packages"));
    // As cargo does: a shared target directory keeps compiled dependencies between dataflows.
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        options.target_dir = Some(PathBuf::from(dir).join("eddy-build"));
    }
    match eddy_build::build_file(file, &options) {
        Ok(built) => Ok(built),
        Err(Error::Code(errors)) => {
            for error in &errors {
                eprintln!("{error}");
            }
            let count = errors.len();
            bail!(
                "{} has {count} error{} in its Rust functions; nothing was built",
                file.display(),
                if count == 1 { "" } else { "s" }
            )
        }
        Err(Error::Dataflow(diagnostics)) => {
            for diagnostic in diagnostics.iter() {
                eprintln!("{diagnostic}");
            }
            bail!("{} cannot be read as a dataflow; nothing was built", file.display())
        }
        Err(other) => Err(other.into()),
    }
}
