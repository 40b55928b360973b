#!/usr/bin/env bash
# Builds the C test components into OUT_DIR (default: ./out): upper.wasm and misbehave.wasm
# (world `map`), above_ten.wasm (world `filter`).
#
#   clang      compiles C for wasm32-wasi against wasi-libc (Debian: clang, wasi-libc,
#              libclang-rt-dev-wasm32)
#   wasm-component-ld (shipped with Rust's wasm32-wasip2 target) links like wasm-ld (Debian:
#              lld) and turns the module into a component, reading the world from the
#              *_component_type.o that `wit-bindgen c` generated next to the bindings.
#
# Override the tools with CC=... and WASM_COMPONENT_LD=....
set -euo pipefail
cd "$(dirname "$0")"
out_dir="${1:-out}"
mkdir -p "$out_dir"

debian_packages="clang lld wasi-libc libclang-rt-dev-wasm32"
missing() {
    echo "$1: install the Debian packages with \`apt-get install $debian_packages\`" >&2
    exit 1
}

cc="${CC:-clang}"
command -v "$cc" >/dev/null || missing "the C compiler \`$cc\` is not installed"
command -v wasm-ld >/dev/null || missing "the WebAssembly linker \`wasm-ld\` is not installed"
[[ -f /usr/include/wasm32-wasi/stdlib.h ]] || missing "the C library for wasm32-wasi (wasi-libc) is not installed"
builtins="$("$cc" --target=wasm32-wasi -print-libgcc-file-name)"
[[ -f "$builtins" ]] || missing "the compiler runtime for wasm32 ($builtins) is not installed"

linker="${WASM_COMPONENT_LD:-}"
if [[ -z "$linker" ]]; then
    host="$(rustc -vV | sed -n 's/^host: //p')"
    linker="$(rustc --print sysroot)/lib/rustlib/$host/bin/wasm-component-ld"
fi
[[ -x "$linker" ]] || {
    echo "wasm-component-ld is not at $linker: run \`rustup target add wasm32-wasip2\` (it ships with the target), or set WASM_COMPONENT_LD" >&2
    exit 1
}

# build NAME WORLD: NAME.c with the bindings of WORLD into OUT_DIR/NAME.wasm.
build() {
    local name="$1" world="$2"
    "$cc" --target=wasm32-wasi -O2 -Wall -Wextra -Werror -mexec-model=reactor \
        -fuse-ld="$linker" -I "bindings/$world" \
        -o "$out_dir/$name.wasm" \
        "$name.c" "bindings/$world/$world.c" "bindings/$world/${world}_component_type.o"
}

build upper map
build above_ten filter
build misbehave map
