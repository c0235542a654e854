//! The daemon as scripts/package.sh packages it (scripts/build-daemon.sh,
//! built by scripts/test.sh before the tests): a static PIE that maps no
//! shared library, relative relocations packed, the functions of
//! service/hot-functions.txt in their own `.text.hot` section — and the list
//! still names the binary's functions, so a list gone stale after a change
//! of the start-up path fails here, not only as memory in bench/footprint.

use std::path::PathBuf;
use std::process::Command;

use mptcp_policy_tests::booted::packages::workspace;

fn built_daemon() -> PathBuf {
    let out = Command::new("bash")
        .arg(workspace().join("scripts/build-daemon.sh"))
        .arg("--path")
        .output()
        .expect("scripts/build-daemon.sh --path");
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(
        path.is_file(),
        "{} missing: scripts/package.sh (run by scripts/test.sh) builds it",
        path.display()
    );
    path
}

fn readelf(args: &[&str], binary: &PathBuf) -> String {
    let out = Command::new("readelf")
        .args(args)
        .arg(binary)
        .output()
        .expect("readelf (binutils)");
    assert!(out.status.success(), "readelf {args:?} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `readelf -SW` size of section `name`, if present.
fn section_size(sections: &str, name: &str) -> Option<u64> {
    sections.lines().find_map(|l| {
        let l = l.replace("[ ", "[");
        let f: Vec<&str> = l.split_whitespace().collect();
        (f.get(1) == Some(&name)).then(|| u64::from_str_radix(f.get(5)?, 16).ok())?
    })
}

#[test]
fn the_packaged_daemon_is_a_static_pie_with_its_running_code_together() {
    let bin = built_daemon();
    let header = readelf(&["-hW"], &bin);
    assert!(
        header.contains("DYN (Position-Independent"),
        "not a PIE:\n{header}"
    );
    let segments = readelf(&["-lW"], &bin);
    assert!(
        !segments.contains("INTERP"),
        "has a dynamic loader:\n{segments}"
    );
    let dynamic = readelf(&["-dW"], &bin);
    assert!(
        !dynamic.contains("(NEEDED)"),
        "needs shared libraries:\n{dynamic}"
    );
    let sections = readelf(&["-SW"], &bin);
    let hot = section_size(&sections, ".text.hot").unwrap_or(0);
    let text = section_size(&sections, ".text").expect(".text");
    assert!(
        hot > 1 << 20 && text > 0,
        ".text.hot {hot} bytes beside .text {text}:\n{sections}"
    );
    assert!(
        section_size(&sections, ".relr.dyn").is_some(),
        "relocations not packed:\n{sections}"
    );
    let out = Command::new(&bin).arg("--version").output().expect("run");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("mptcp-policyd "));
}

/// The name a linker-script pattern of service/build.rs matches: a legacy
/// Rust name without its `17h<hash>E`, a v0 name with `Cs*_` for each crate
/// hash (scripts/hot-functions.sh writes the list that way).
fn without_hash(name: &str) -> String {
    if let Some(stem) = name.strip_prefix("_ZN") {
        if let Some(cut) = stem.len().checked_sub(20) {
            let tail = &stem[cut..];
            let hash = &tail[3..tail.len() - 1];
            if tail.starts_with("17h")
                && tail.ends_with('E')
                && hash.chars().all(|c| c.is_ascii_hexdigit())
            {
                return format!("_ZN{}17h", &stem[..cut]);
            }
        }
        return name.to_string();
    }
    if !name.starts_with("_R") {
        return name.to_string();
    }
    let mut out = String::new();
    let mut rest = name;
    while let Some(at) = rest.find("Cs") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let hash = after
            .find(|c: char| !c.is_ascii_alphanumeric())
            .filter(|&end| end > 0 && after[end..].starts_with('_'));
        match hash {
            Some(end) => {
                out.push_str("Cs*_");
                rest = &after[end + 1..];
            }
            None => {
                out.push_str("Cs");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn the_hot_function_list_still_names_the_daemons_functions() {
    let bin = built_daemon();
    let nm = Command::new("nm")
        .arg("--defined-only")
        .arg(&bin)
        .output()
        .expect("nm (binutils)");
    let symbols: std::collections::HashSet<String> = String::from_utf8_lossy(&nm.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .map(without_hash)
        .collect();
    let list = std::fs::read_to_string(workspace().join("service/hot-functions.txt"))
        .expect("service/hot-functions.txt");
    let names: Vec<&str> = list.lines().filter(|l| !l.trim().is_empty()).collect();
    let missing: Vec<&&str> = names.iter().filter(|n| !symbols.contains(**n)).collect();
    // A few names may go with a small change; many gone means the code that
    // runs at start lies scattered again (RSS +1–2 MB).
    assert!(
        missing.len() * 10 <= names.len(),
        "{} of {} functions of service/hot-functions.txt are not in {}: regenerate it \
         with scripts/hot-functions.sh. First missing: {:?}",
        missing.len(),
        names.len(),
        bin.display(),
        &missing[..missing.len().min(5)]
    );
}

#[test]
fn hashes_are_cut_the_way_the_list_writes_names() {
    assert_eq!(
        without_hash("_ZN4core3fmt5write17h0123456789abcdefE"),
        "_ZN4core3fmt5write17h"
    );
    assert_eq!(
        without_hash("_RNvNtCsjrHSEGnQ3l9_3std2fs4read"),
        "_RNvNtCs*_3std2fs4read"
    );
    assert_eq!(
        without_hash("_RINvCsa1_4core4testNtCsB2c_5alloc3VecE"),
        "_RINvCs*_4core4testNtCs*_5alloc3VecE"
    );
    assert_eq!(without_hash("__memcpy_evex"), "__memcpy_evex");
    assert_eq!(without_hash("_ZN3foo3barE"), "_ZN3foo3barE");
}
