//! The panel's pure parts (no GTK widgets, no bus): what it knows about the
//! daemon ([`model`]), how it shows numbers ([`format`]), the budget
//! dialog's validation ([`budget_input`]) and the throughput sampler
//! ([`throughput`]), table-tested. The binary (`main.rs`) holds the widgets
//! and the D-Bus link.
//!
//! Being a library also lets the panel's own tests turn on the
//! `test-control` feature (a dev-dependency on this package): the test
//! driver `--test-control` is compiled into test builds only, never into
//! the release binary.

pub mod budget_input;
pub mod format;
pub mod i18n;
pub mod model;
pub mod throughput;
