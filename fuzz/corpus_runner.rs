//! Runs one fuzz target's body over every file of its corpus
//! (`fuzz/corpus/<target>/`), shared by the corpus regression tests of the
//! `policy` and `netlink` crates. A missing or empty corpus is a failure;
//! a panic names the input file.

use std::path::{Path, PathBuf};

/// Calls `body` on each corpus file of `target`; panics listing the files
/// that made it panic.
pub fn run(target: &str, body: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {}: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "corpus {} is empty", dir.display());
    let mut failed = Vec::new();
    for f in &files {
        let data = std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        if std::panic::catch_unwind(|| body(&data)).is_err() {
            failed.push(f.display().to_string());
        }
    }
    assert!(failed.is_empty(), "{target}: inputs that fail: {failed:#?}");
    eprintln!("{target}: {} corpus inputs pass", files.len());
}

/// One corpus file's bytes.
#[allow(dead_code)]
pub fn read(target: &str, file: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target)
        .join(file);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}
