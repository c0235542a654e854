//! Compiles the BPF object `src/bpf/mptcpify.bpf.c` with clang into
//! `$OUT_DIR/mptcpify.bpf.o`; the daemon embeds it (`include_bytes!`).
//! Needs clang and libbpf's headers (Debian: `clang libbpf-dev`, see
//! scripts/install-test-deps.sh). `CLANG` chooses another compiler.
//!
//! With `MPTCP_POLICYD_HOT_FUNCTIONS=FILE` (scripts/build-daemon.sh sets it)
//! the daemon is linked with the functions FILE names side by side, ahead of
//! the rest (LLD, rustc's default linker on x86_64 Linux): see
//! scripts/hot-functions.sh.

use std::path::PathBuf;
use std::process::Command;

const SOURCE: &str = "src/bpf/mptcpify.bpf.c";

fn main() {
    println!("cargo:rerun-if-changed={SOURCE}");
    println!("cargo:rerun-if-env-changed=CLANG");
    hot_functions_first();
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

/// Links the daemon with the functions `MPTCP_POLICYD_HOT_FUNCTIONS` names
/// (scripts/hot-functions.sh) side by side, in the file's order, ahead of
/// the rest: Rust functions by a linker script that matches their names
/// without the hash (their own `.text.hot` output section), C functions (the
/// C library, libbpf) by an LLD ordering file at the head of `.text`, which
/// follows right after.
fn hot_functions_first() {
    println!("cargo:rerun-if-env-changed=MPTCP_POLICYD_HOT_FUNCTIONS");
    let Some(list) = std::env::var_os("MPTCP_POLICYD_HOT_FUNCTIONS") else {
        return;
    };
    let list = PathBuf::from(list);
    println!("cargo:rerun-if-changed={}", list.display());
    let text = match std::fs::read_to_string(&list) {
        Ok(t) => t,
        Err(e) => panic!(
            "MPTCP_POLICYD_HOT_FUNCTIONS: cannot read {}: {e}",
            list.display()
        ),
    };
    let (script, order) = hot_layout(&text);
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let script_path = out_dir.join("hot-functions.ld");
    let order_path = out_dir.join("hot-functions.order");
    for (path, body) in [(&script_path, script), (&order_path, order)] {
        if let Err(e) = std::fs::write(path, body) {
            panic!("cannot write {}: {e}", path.display());
        }
    }
    let arg = "cargo:rustc-link-arg-bin=mptcp-policyd=-Wl";
    println!("{arg},-T,{}", script_path.display());
    println!("{arg},--symbol-ordering-file={}", order_path.display());
    // The C names of other builds and CPUs are expected to be missing.
    println!("{arg},--no-warn-symbol-ordering");
}

/// The linker script (Rust names) and the ordering file (C names) of a list.
fn hot_layout(list: &str) -> (String, String) {
    let mut script = String::from("SECTIONS {\n  .text.hot : {\n");
    let mut order = String::new();
    for name in list.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if name.starts_with("_ZN") || name.starts_with("_R") {
            // A legacy name ends "17h" where its hash was: any hash matches.
            let pattern = if name.ends_with("17h") {
                format!("{name}*")
            } else {
                name.to_string()
            };
            // LLVM puts functions it thinks cold in .text.unlikely.NAME.
            script.push_str(&format!(
                "    *(.text.{pattern} .text.unlikely.{pattern})\n"
            ));
        } else {
            order.push_str(name);
            order.push('\n');
        }
    }
    script.push_str("  }\n} INSERT BEFORE .text;\n");
    (script, order)
}
