//! Packaging: the unit passes `systemd-analyze verify` and its
//! `systemd-analyze security --offline=true` exposure is at most 2.5;
//! `scripts/install.sh` puts every file where a distribution would and
//! `scripts/uninstall.sh` removes exactly those. Everything goes into
//! temporary `DESTDIR`s with stand-in binaries: nothing is installed into
//! `/` and no release build is needed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The exposure the issue allows.
const MAX_EXPOSURE: f64 = 2.5;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("repo root")
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("mptcp-pkg-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("mkdir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn write_exe(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write");
    let ok = Command::new("chmod")
        .arg("755")
        .arg(path)
        .status()
        .expect("chmod");
    assert!(ok.success());
}

/// Stand-in binaries; `with_docs` gives mptcp-policyctl the `man` and
/// `completions SHELL` subcommands.
fn fake_bins(dir: &Path, with_docs: bool) {
    // With docs, the daemon and the panel print their pages for --man.
    let man = |section: &str| {
        if with_docs {
            format!("#!/bin/sh\n[ \"$1\" = --man ] && echo '.TH X {section}' && exit 0\nexit 2\n")
        } else {
            "#!/bin/sh\nexit 2\n".to_string()
        }
    };
    write_exe(&dir.join("mptcp-policyd"), &man("8"));
    write_exe(&dir.join("mptcp-policy-panel"), &man("1"));
    std::fs::write(dir.join("libmptcp_preload.so"), "not really ELF\n").expect("write");
    let ctl = if with_docs {
        "#!/bin/sh\ncase \"$1\" in\n  man) echo '.TH MPTCP-POLICYCTL 1' ;;\n  \
         completions) echo \"# $2 completions\" ;;\n  *) exit 2 ;;\nesac\n"
    } else {
        "#!/bin/sh\necho \"error: unrecognized subcommand '$1'\" >&2\nexit 2\n"
    };
    write_exe(&dir.join("mptcp-policyctl"), ctl);
}

fn run_script(
    script: &str,
    destdir: &Path,
    bins: &Path,
    env: &[(&str, &str)],
    args: &[&str],
) -> Output {
    let out = Command::new("bash")
        .arg(repo().join("scripts").join(script))
        .args(args)
        .env("DESTDIR", destdir)
        .env("BIN_DIR", bins)
        .env_remove("PREFIX")
        .env_remove("SYSCONFDIR")
        .envs(env.iter().copied())
        .output()
        .expect("bash runs");
    eprintln!(
        "--- {script} {args:?}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Every regular file under `root`, as absolute paths inside it, sorted.
fn files_under(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).expect("under root");
                out.push(format!("/{}", rel.display()));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

const CORE_FILES: [&str; 20] = [
    "/etc/NetworkManager/conf.d/90-mptcp-policyd.conf",
    "/etc/NetworkManager/dispatcher.d/90-mptcp-policyd",
    "/etc/mptcp-policyd/policy.toml",
    "/usr/bin/mptcp-policy-panel",
    "/usr/bin/mptcp-policyctl",
    "/usr/bin/mptcp-policyd",
    "/usr/lib/mptcp-policyd/libmptcp_preload.so",
    "/usr/lib/systemd/system/mptcp-policyd.service",
    "/usr/lib/sysusers.d/mptcp-policyd.conf",
    "/usr/share/applications/org.mptcp.PolicyPanel.desktop",
    "/usr/share/dbus-1/interfaces/org.mptcp.Policy1.xml",
    "/usr/share/dbus-1/system-services/org.mptcp.Policy1.service",
    "/usr/share/dbus-1/system.d/org.mptcp.Policy1.conf",
    "/usr/share/doc/mptcp-policyd/50-mptcp-policy.rules.example",
    "/usr/share/icons/hicolor/scalable/apps/org.mptcp.PolicyPanel.svg",
    "/usr/share/locale/de/LC_MESSAGES/mptcp-policy-panel.mo",
    "/usr/share/man/man5/mptcp-policyd.toml.5",
    "/usr/share/metainfo/org.mptcp.PolicyPanel.metainfo.xml",
    "/usr/share/mptcp-policyd/installed-files",
    "/usr/share/polkit-1/actions/org.mptcp.policy.policy",
];

const DOC_FILES: [&str; 6] = [
    "/usr/share/bash-completion/completions/mptcp-policyctl",
    "/usr/share/fish/vendor_completions.d/mptcp-policyctl.fish",
    "/usr/share/man/man1/mptcp-policy-panel.1",
    "/usr/share/man/man1/mptcp-policyctl.1",
    "/usr/share/man/man8/mptcp-policyd.8",
    "/usr/share/zsh/vendor-completions/_mptcp-policyctl",
];

#[test]
fn install_puts_every_file_in_place_and_uninstall_removes_them() {
    let bins = TempDir::new("bins");
    fake_bins(&bins.0, true);
    let dest = TempDir::new("dest");
    let out = run_script("install.sh", &dest.0, &bins.0, &[], &["--no-build"]);
    assert!(out.status.success(), "install.sh failed");

    let mut expected: Vec<&str> = CORE_FILES.iter().chain(DOC_FILES.iter()).copied().collect();
    expected.sort();
    assert_eq!(files_under(&dest.0), expected);
    for (src, dst) in [
        (
            "systemd/mptcp-policyd.service",
            "usr/lib/systemd/system/mptcp-policyd.service",
        ),
        (
            "dbus/org.mptcp.Policy1.conf",
            "usr/share/dbus-1/system.d/org.mptcp.Policy1.conf",
        ),
        (
            "polkit/org.mptcp.policy.policy",
            "usr/share/polkit-1/actions/org.mptcp.policy.policy",
        ),
        (
            "gui/data/org.mptcp.PolicyPanel.svg",
            "usr/share/icons/hicolor/scalable/apps/org.mptcp.PolicyPanel.svg",
        ),
        (
            "networkmanager/dispatcher.d/90-mptcp-policyd",
            "etc/NetworkManager/dispatcher.d/90-mptcp-policyd",
        ),
        (
            "networkmanager/conf.d/90-mptcp-policyd.conf",
            "etc/NetworkManager/conf.d/90-mptcp-policyd.conf",
        ),
    ] {
        let a = std::fs::read(repo().join(src)).expect("source");
        let b = std::fs::read(dest.0.join(dst)).expect("installed");
        assert_eq!(a, b, "{dst} is {src}");
    }
    // The panel's desktop entry carries its German name (merged from
    // gui/po/de.po by msgfmt --desktop).
    let desktop = std::fs::read_to_string(
        dest.0
            .join("usr/share/applications/org.mptcp.PolicyPanel.desktop"),
    )
    .expect("desktop entry");
    assert!(desktop.contains("Exec=mptcp-policy-panel"), "{desktop}");
    assert!(desktop.contains("Name[de]=MPTCP-Pfade"), "{desktop}");
    // The default policy is one the daemon accepts.
    let policy =
        std::fs::read_to_string(dest.0.join("etc/mptcp-policyd/policy.toml")).expect("policy");
    let errors = mptcp_policy::validate("policy.toml", &policy);
    assert!(errors.is_empty(), "default policy invalid: {errors:?}");

    // A second install keeps the administrator's edits.
    let edited = format!("{policy}\n# edited by the admin\n");
    std::fs::write(dest.0.join("etc/mptcp-policyd/policy.toml"), &edited).expect("edit");
    assert!(
        run_script("install.sh", &dest.0, &bins.0, &[], &["--no-build"])
            .status
            .success()
    );
    let kept =
        std::fs::read_to_string(dest.0.join("etc/mptcp-policyd/policy.toml")).expect("policy");
    assert_eq!(kept, edited);

    // Uninstall keeps only the policy (and state, none here); --purge that too.
    std::fs::create_dir_all(dest.0.join("var/lib/mptcp-policyd")).expect("state dir");
    std::fs::write(dest.0.join("var/lib/mptcp-policyd/usage.json"), "{}").expect("state");
    assert!(run_script("uninstall.sh", &dest.0, &bins.0, &[], &[])
        .status
        .success());
    assert_eq!(
        files_under(&dest.0),
        [
            "/etc/mptcp-policyd/policy.toml",
            "/var/lib/mptcp-policyd/usage.json"
        ]
    );
    assert!(
        run_script("uninstall.sh", &dest.0, &bins.0, &[], &["--purge"])
            .status
            .success()
    );
    assert_eq!(files_under(&dest.0), Vec::<String>::new());
}

#[test]
fn install_without_man_and_completions_warns_and_uninstalls_cleanly() {
    let bins = TempDir::new("bins-nodocs");
    fake_bins(&bins.0, false);
    let dest = TempDir::new("dest-nodocs");
    let out = run_script("install.sh", &dest.0, &bins.0, &[], &["--no-build"]);
    assert!(out.status.success(), "install.sh failed");
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning"));
    assert_eq!(files_under(&dest.0), CORE_FILES);
    assert!(
        run_script("uninstall.sh", &dest.0, &bins.0, &[], &["--purge"])
            .status
            .success()
    );
    assert_eq!(files_under(&dest.0), Vec::<String>::new());
}

#[test]
fn install_honours_prefix_and_refuses_missing_binaries() {
    let bins = TempDir::new("bins-prefix");
    fake_bins(&bins.0, true);
    let dest = TempDir::new("dest-prefix");
    let env = [("PREFIX", "/usr/local"), ("SYSCONFDIR", "/usr/local/etc")];
    assert!(
        run_script("install.sh", &dest.0, &bins.0, &env, &["--no-build"])
            .status
            .success()
    );
    let unit = std::fs::read_to_string(
        dest.0
            .join("usr/local/lib/systemd/system/mptcp-policyd.service"),
    )
    .expect("unit under PREFIX");
    assert!(unit.contains("\nExecStart=/usr/local/bin/mptcp-policyd\n"));
    assert!(dest
        .0
        .join("usr/local/etc/mptcp-policyd/policy.toml")
        .exists());
    assert!(
        run_script("uninstall.sh", &dest.0, &bins.0, &env, &["--purge"])
            .status
            .success()
    );
    assert_eq!(files_under(&dest.0), Vec::<String>::new());

    let empty = TempDir::new("bins-empty");
    let dest = TempDir::new("dest-empty");
    let out = run_script("install.sh", &dest.0, &empty.0, &[], &["--no-build"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "missing binaries with --no-build"
    );
    assert_eq!(files_under(&dest.0), Vec::<String>::new());
}

fn systemd_analyze(args: &[&str]) -> Output {
    Command::new("systemd-analyze")
        .args(args)
        .env("SYSTEMD_COLORS", "0")
        .output()
        .expect("systemd-analyze runs (apt-get install systemd; scripts/install-test-deps.sh)")
}

/// An image to verify the installed unit in: the install plus the host's
/// own units (dbus.socket, sysinit.target, ...) and /bin/kill.
fn verify_root() -> (TempDir, TempDir) {
    let bins = TempDir::new("bins-verify");
    fake_bins(&bins.0, true);
    let root = TempDir::new("root-verify");
    assert!(
        run_script("install.sh", &root.0, &bins.0, &[], &["--no-build"])
            .status
            .success()
    );
    let units = root.0.join("usr/lib/systemd/system");
    for e in std::fs::read_dir("/usr/lib/systemd/system")
        .expect("host units")
        .flatten()
    {
        let to = units.join(e.file_name());
        if !to.exists() {
            let ok = Command::new("cp")
                .arg("-a")
                .arg(e.path())
                .arg(&to)
                .status()
                .expect("cp");
            assert!(ok.success());
        }
    }
    std::os::unix::fs::symlink("usr/bin", root.0.join("bin")).expect("bin symlink");
    std::fs::copy("/usr/bin/kill", root.0.join("usr/bin/kill")).expect("kill");
    (bins, root)
}

#[test]
fn unit_verifies_clean() {
    let (_bins, root) = verify_root();
    let root_arg = format!("--root={}", root.0.display());
    let out = systemd_analyze(&["verify", &root_arg, "mptcp-policyd.service"]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.trim().is_empty(),
        "verify: {text}"
    );
}

#[test]
fn unit_exposure_is_at_most_2_5() {
    let unit = repo().join("systemd/mptcp-policyd.service");
    let out = systemd_analyze(&[
        "security",
        "--offline=true",
        "--no-pager",
        unit.to_str().expect("utf-8 path"),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| {
            panic!(
                "no exposure line: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let score: f64 = line
        .split(':')
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("unparsable: {line}"));
    println!("systemd-analyze security --offline=true: exposure {score} (max {MAX_EXPOSURE})");
    assert!(score <= MAX_EXPOSURE, "{text}");
}
