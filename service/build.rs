//! Compiles the BPF object `src/bpf/mptcpify.bpf.c` with clang into
//! `$OUT_DIR/mptcpify.bpf.o`; the daemon embeds it (`include_bytes!`).
//! Needs clang and libbpf's headers (Debian: `clang libbpf-dev`, see
//! scripts/install-test-deps.sh). `CLANG` chooses another compiler.

use std::path::PathBuf;
use std::process::Command;

const SOURCE: &str = "src/bpf/mptcpify.bpf.c";

fn main() {
    println!("cargo:rerun-if-changed={SOURCE}");
    println!("cargo:rerun-if-env-changed=CLANG");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let object = out_dir.join("mptcpify.bpf.o");
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".into());
    // <asm/types.h> (pulled in by <linux/types.h>) lives in the multiarch
    // directory, which clang does not search for -target bpf.
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_else(|_| "x86_64".into());
    let multiarch = format!("/usr/include/{arch}-linux-gnu");
    let status = Command::new(&clang)
        .args(["-O2", "-g", "-target", "bpf", "-Wall", "-Werror", "-I"])
        .arg(&multiarch)
        .arg("-c")
        .arg(SOURCE)
        .arg("-o")
        .arg(&object)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!(
            "{clang} failed ({s}) compiling {SOURCE}: are libbpf's headers installed \
             (Debian: apt-get install libbpf-dev linux-libc-dev)?"
        ),
        Err(e) => panic!(
            "cannot run {clang} to compile {SOURCE}: {e}; install clang \
             (scripts/install-test-deps.sh) or set CLANG"
        ),
    }
}
