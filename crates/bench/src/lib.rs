//! Benchmarks of Eddy. The criterion benches live in `benches/`; run them with
//! `cargo bench -p eddy-bench`. Figures and the machine they were measured on are in
//! `BENCHMARKS.md` at the repository root.
