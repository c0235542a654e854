//! The `.ui` templates are compiled into the binary by
//! `#[template(file = ...)]`, which cargo does not track: rebuild when
//! one changes.

fn main() {
    println!("cargo:rerun-if-changed=src/widgets");
}
