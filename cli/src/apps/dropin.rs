//! The systemd drop-in `/etc/systemd/system/UNIT.d/50-mptcp.conf` that
//! runs a service with the preload library (and Go's MPTCP switch).

use std::path::{Path, PathBuf};

use crate::error::{CliError, Result};

/// The drop-in's file name (50: after distribution drop-ins, before the
/// administrator's usual overrides).
pub const DROPIN_FILE: &str = "50-mptcp.conf";
/// First line of every drop-in this tool writes; it only removes or
/// rewrites files that start with it.
pub const MARKER: &str = "# Written by mptcp-policyctl enable";
/// Where admin units and drop-ins live, below the root.
pub const UNIT_DIR: &str = "etc/systemd/system";
/// Unit directories that may hold the unit file itself (for a warning).
const UNIT_SEARCH: [&str; 3] = [
    "etc/systemd/system",
    "usr/lib/systemd/system",
    "lib/systemd/system",
];

/// Checks a unit name and completes `nginx` to `nginx.service`. Only
/// services: `Environment=` is what the drop-in sets. Rules of
/// systemd.unit(5): at most 255 bytes, `[A-Za-z0-9:_.\-]` plus one `@`
/// (templates `foo@.service` and instances `foo@bar.service`).
pub fn unit_name(name: &str) -> Result<String> {
    let full = if name.contains('.') {
        name.to_string()
    } else {
        format!("{name}.service")
    };
    let bad = |why: &str| CliError::invalid(format!("invalid unit name {name:?}: {why}"));
    let Some(stem) = full.strip_suffix(".service") else {
        return Err(bad("only services can be enabled (NAME.service)"));
    };
    if stem.is_empty() || stem.starts_with('@') {
        return Err(bad("the name before .service is empty"));
    }
    if full.len() > 255 {
        return Err(bad("longer than 255 bytes"));
    }
    if let Some(c) = stem
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || ":_.-\\@".contains(*c)))
    {
        return Err(bad(&format!("character {c:?} is not allowed")));
    }
    if stem.matches('@').count() > 1 {
        return Err(bad("more than one @"));
    }
    Ok(full)
}

/// The drop-in's text.
pub fn render(unit: &str, library: &Path) -> String {
    format!(
        "{MARKER}: runs {unit} with MPTCP.\n\
         # Remove with: mptcp-policyctl disable {unit}\n\
         [Service]\n\
         Environment=LD_PRELOAD={}\n\
         Environment=GODEBUG=multipathtcp=1\n",
        library.display()
    )
}

/// The `LD_PRELOAD` library named by a drop-in written by us.
pub fn library_of(text: &str) -> Option<String> {
    if !text.starts_with(MARKER) {
        return None;
    }
    text.lines()
        .find_map(|l| l.strip_prefix("Environment=LD_PRELOAD="))
        .map(str::to_string)
}

/// The drop-in path of `unit` below `root`.
pub fn path(root: &Path, unit: &str) -> PathBuf {
    root.join(UNIT_DIR)
        .join(format!("{unit}.d"))
        .join(DROPIN_FILE)
}

/// Writes the drop-in (replacing an older one of ours, never someone
/// else's file). Returns its path.
pub fn write(root: &Path, unit: &str, library: &Path) -> Result<PathBuf> {
    let file = path(root, unit);
    if let Ok(old) = std::fs::read_to_string(&file) {
        if !old.starts_with(MARKER) {
            return Err(CliError::invalid(format!(
                "{} exists and was not written by mptcp-policyctl; left alone",
                file.display()
            )));
        }
    }
    let io = |what: &str, p: &Path, e: std::io::Error| {
        CliError::failed(format!("cannot {what} {}: {e}", p.display()))
    };
    let dir = file.parent().unwrap_or(root);
    std::fs::create_dir_all(dir).map_err(|e| io("create", dir, e))?;
    // Temp file + rename: systemd never reads half a file.
    let tmp = dir.join(format!(".{DROPIN_FILE}.tmp"));
    std::fs::write(&tmp, render(unit, library)).map_err(|e| io("write", &tmp, e))?;
    std::fs::rename(&tmp, &file).map_err(|e| io("rename into", &file, e))?;
    Ok(file)
}

/// Removes our drop-in (and the `UNIT.d` directory when that leaves it
/// empty). Returns its path.
pub fn remove(root: &Path, unit: &str) -> Result<PathBuf> {
    let file = path(root, unit);
    match std::fs::read_to_string(&file) {
        Ok(text) if text.starts_with(MARKER) => {}
        Ok(_) => {
            return Err(CliError::invalid(format!(
                "{} was not written by mptcp-policyctl; left alone",
                file.display()
            )))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(CliError::invalid(format!(
                "{unit} is not enabled (no {})",
                file.display()
            )))
        }
        Err(e) => {
            return Err(CliError::failed(format!(
                "cannot read {}: {e}",
                file.display()
            )))
        }
    }
    std::fs::remove_file(&file)
        .map_err(|e| CliError::failed(format!("cannot remove {}: {e}", file.display())))?;
    if let Some(dir) = file.parent() {
        // Only succeeds when empty: other drop-ins stay.
        let _ = std::fs::remove_dir(dir);
    }
    Ok(file)
}

/// Units with our drop-in below `root`, sorted, with the library each names.
pub fn list(root: &Path) -> Result<Vec<(String, PathBuf, String)>> {
    let dir = root.join(UNIT_DIR);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(CliError::failed(format!(
                "cannot read {}: {e}",
                dir.display()
            )))
        }
    };
    let mut out: Vec<_> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let unit = name.strip_suffix(".d")?.to_string();
            let file = e.path().join(DROPIN_FILE);
            let library = library_of(&std::fs::read_to_string(&file).ok()?)?;
            Some((unit, file, library))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Whether a unit file for `unit` (or its template) exists below `root`.
pub fn unit_file_exists(root: &Path, unit: &str) -> bool {
    let template = unit
        .split_once('@')
        .map(|(prefix, _)| format!("{prefix}@.service"));
    UNIT_SEARCH.iter().any(|d| {
        let dir = root.join(d);
        dir.join(unit).exists() || template.as_ref().is_some_and(|t| dir.join(t).exists())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_names_are_checked_and_completed() {
        let ok = [
            ("nginx", "nginx.service"),
            ("nginx.service", "nginx.service"),
            ("getty@tty1.service", "getty@tty1.service"),
            ("worker@.service", "worker@.service"),
            ("a-b_c:d\\x2d.service", "a-b_c:d\\x2d.service"),
        ];
        for (input, want) in ok {
            assert_eq!(unit_name(input).expect(input), want);
        }
        let bad = [
            ("nginx.socket", "only services"),
            (".service", "empty"),
            ("@x.service", "empty"),
            ("../../etc/passwd", "only services"),
            ("a/b.service", "'/' is not allowed"),
            ("evil\n.service", "is not allowed"),
            ("a b", "' ' is not allowed"),
            ("a@b@c.service", "more than one @"),
            ("", "empty"),
        ];
        for (input, why) in bad {
            let e = unit_name(input).expect_err(input);
            assert_eq!(e.exit_code(), 5);
            assert!(e.message.contains(why), "{input:?}: {}", e.message);
        }
        assert!(unit_name(&format!("{}.service", "x".repeat(250))).is_err());
    }

    #[test]
    fn the_dropin_sets_the_library_and_go_and_is_recognized() {
        let text = render(
            "nginx.service",
            Path::new("/usr/lib/mptcp-policyd/libmptcp_preload.so"),
        );
        assert!(text.starts_with(MARKER));
        assert!(text.contains("\n[Service]\n"));
        assert!(
            text.contains("\nEnvironment=LD_PRELOAD=/usr/lib/mptcp-policyd/libmptcp_preload.so\n")
        );
        assert!(text.contains("\nEnvironment=GODEBUG=multipathtcp=1\n"));
        assert!(text.contains("mptcp-policyctl disable nginx.service"));
        assert_eq!(
            library_of(&text).as_deref(),
            Some("/usr/lib/mptcp-policyd/libmptcp_preload.so")
        );
        assert_eq!(
            library_of("[Service]\nEnvironment=LD_PRELOAD=/x.so\n"),
            None
        );
        assert_eq!(
            path(Path::new("/r"), "a.service"),
            Path::new("/r/etc/systemd/system/a.service.d/50-mptcp.conf")
        );
    }
}
