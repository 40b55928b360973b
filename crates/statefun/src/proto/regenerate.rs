//! Checks that the checked-in generated code is what the `.proto` files compile to, and
//! rewrites it when `EDDY_REGENERATE_PROTO=1` is set.

use std::path::{Path, PathBuf};

const PROTO_FILES: [&str; 3] = ["request-reply.proto", "types.proto", "egress.proto"];
const GENERATED_FILES: [&str; 3] =
    ["io.statefun.sdk.reqreply.rs", "io.statefun.sdk.types.rs", "io.statefun.sdk.egress.rs"];

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn generate(out_dir: &Path) {
    let proto_dir = manifest_dir().join("proto");
    let files = PROTO_FILES.map(|file| proto_dir.join(file));
    let descriptors = protox::compile(files, [&proto_dir]).expect("the .proto files compile");
    prost_build::Config::new()
        // Payloads as `bytes::Bytes`: a typed value moves in and out of a message by reference
        // count, and a decoded reply's payloads share the reply's buffer.
        .bytes(["."])
        .out_dir(out_dir)
        .compile_fds(descriptors)
        .expect("prost-build generates Rust from the descriptors");
}

#[test]
fn generated_code_matches_the_proto_files() {
    let scratch = tempfile::tempdir().expect("a scratch directory");
    generate(scratch.path());
    let checked_in_dir = manifest_dir().join("src/proto/generated");
    let regenerate = std::env::var_os("EDDY_REGENERATE_PROTO").is_some_and(|value| value == "1");
    for file in GENERATED_FILES {
        let fresh = std::fs::read_to_string(scratch.path().join(file)).expect("generated file");
        let checked_in_path = checked_in_dir.join(file);
        if regenerate {
            std::fs::write(&checked_in_path, &fresh).expect("write generated file");
            continue;
        }
        let checked_in = std::fs::read_to_string(&checked_in_path).unwrap_or_default();
        assert!(
            checked_in == fresh,
            "{} is out of date with the .proto files; regenerate it with \
             EDDY_REGENERATE_PROTO=1 cargo test -p eddy-statefun generated_code_matches_the_proto_files",
            checked_in_path.display()
        );
    }
}
