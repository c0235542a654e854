//! lintian on every package scripts/package.sh built: no error, and every
//! remaining warning is listed in the README ("Debian packages") with the
//! reason it stays — a new warning fails here until someone fixes or
//! explains it.

use std::process::Command;

use mptcp_policy_tests::booted::packages::{deb, workspace};

/// `W: package: tag [details]` lines → (severity, tag).
fn tags(output: &str) -> Vec<(char, String)> {
    output
        .lines()
        .filter_map(|l| {
            let (sev, rest) = l.split_once(": ")?;
            let sev = sev.chars().next().filter(|_| sev.len() == 1)?;
            let (_pkg, rest) = rest.split_once(": ")?;
            let tag = rest.split_whitespace().next()?;
            Some((sev, tag.to_string()))
        })
        .collect()
}

#[test]
fn lintian_finds_no_error_and_every_warning_is_explained() {
    let debs = ["mptcp-policyd", "mptcp-policy-panel"].map(|n| deb(n).expect("package"));
    let out = Command::new("lintian")
        .args(["--no-tag-display-limit", "--display-level", ">=warning"])
        .args(&debs)
        .output()
        .expect("lintian (apt-get install lintian)");
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}{}", String::from_utf8_lossy(&out.stderr));
    let found = tags(&text);
    let errors: Vec<_> = found.iter().filter(|(s, _)| *s == 'E').collect();
    assert!(errors.is_empty(), "lintian errors: {errors:?}\n{text}");
    let readme = std::fs::read_to_string(workspace().join("README.md")).expect("README");
    let section = readme
        .split("## Debian packages")
        .nth(1)
        .expect("README section \"Debian packages\"");
    for (_, tag) in found.iter().filter(|(s, _)| *s == 'W') {
        assert!(
            section.contains(&format!("`{tag}`")),
            "lintian warning {tag} is not explained in the README's \"Debian packages\"\n{text}"
        );
    }
}

#[test]
fn tag_lines_are_parsed() {
    let t = tags("W: mptcp-policyd: no-manual-page usr/bin/x\nN: note\nE: p: some-error\n");
    assert_eq!(
        t,
        vec![
            ('W', "no-manual-page".to_string()),
            ('E', "some-error".to_string())
        ]
    );
}
