//! The fuzz corpora as regression tests: every file of
//! `fuzz/corpus/<target>/` through the same function the libFuzzer target
//! calls (`mptcp_policy::fuzz`). Fails on an empty or missing corpus.

#[path = "../../fuzz/corpus_runner.rs"]
mod corpus_runner;

#[test]
fn policy_corpus() {
    corpus_runner::run("policy", mptcp_policy::fuzz::policy);
}

#[test]
fn nm_hints_corpus() {
    corpus_runner::run("nm_hints", mptcp_policy::fuzz::nm_hints);
}

#[test]
fn nm_notify_corpus() {
    corpus_runner::run("nm_notify", mptcp_policy::fuzz::nm_notify);
}
