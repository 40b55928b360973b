//! Benchmarks of Eddy. The criterion benches live in `benches/`; run them with
//! `cargo bench -p eddy-bench`. Figures and the machine they were measured on are in
//! `BENCHMARKS.md` at the repository root.

/// The allocator of the `eddy` binary, so the benches measure what it runs. Each bench links
/// it with `use eddy_bench as _;`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
