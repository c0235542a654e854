//! Reading the policy files (the I/O edge of the pure `policy` crate):
//! either the one `--config` file, or the layers vendor → admin file →
//! admin drop-ins, in that order (later wins).

use std::path::{Path, PathBuf};

use mptcp_policy::{Policy, PolicySource};

/// Where the policy comes from.
#[derive(Debug, Clone)]
pub enum PolicyLocation {
    /// `--config FILE`: this file alone.
    Single(PathBuf),
    /// The layered files.
    Layered {
        vendor_dir: PathBuf,
        admin_file: PathBuf,
        admin_dir: PathBuf,
    },
}

/// Why no policy could be loaded. The message lists every problem with
/// file:line:column.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid policy:\n  {}", .0.join("\n  "))]
    Invalid(Vec<String>),
}

/// The policy files as last read from disk (at start, `Reload` and
/// SIGHUP), lowest priority first, each with what kind of layer it is. A
/// change made over D-Bus is merged over these in memory, so it never
/// re-reads — or fails on — an administrator's half-written file.
#[derive(Debug, Clone, Default)]
pub struct PolicyFiles {
    layers: Vec<(&'static str, PolicySource)>,
}

impl PolicyFiles {
    /// The files merged, with one more layer on top (the changes made over
    /// D-Bus). Nothing is read or applied here.
    pub fn merge(&self, top: Option<&PolicySource>) -> Result<Policy, LoadError> {
        self.merge_named(top).map(|(policy, _)| policy)
    }

    /// Like [`PolicyFiles::merge`], and logs every layer with its path (at
    /// start and on reload: where a role comes from must never be a mystery).
    pub fn merge_logged(
        &self,
        top: Option<&PolicySource>,
        when: &str,
    ) -> Result<Policy, LoadError> {
        let (policy, layers) = self.merge_named(top)?;
        let list = if layers.is_empty() {
            "none (built-in defaults: every interface left alone)".to_owned()
        } else {
            layers.join(", ")
        };
        tracing::info!("{when}: policy layers, lowest priority first: {list}");
        Ok(policy)
    }

    fn merge_named(&self, top: Option<&PolicySource>) -> Result<(Policy, Vec<String>), LoadError> {
        let mut labelled: Vec<(&str, &PolicySource)> =
            self.layers.iter().map(|(kind, s)| (*kind, s)).collect();
        // An empty D-Bus layer (nothing changed over D-Bus) is not a layer.
        if let Some(top) = top.filter(|t| !t.text.trim().is_empty()) {
            labelled.push(("D-Bus layer (saved changes)", top));
        }
        let names = labelled
            .iter()
            .map(|(kind, s)| format!("{kind} {}", s.name))
            .collect();
        let sources: Vec<PolicySource> = labelled.into_iter().map(|(_, s)| s.clone()).collect();
        let policy = Policy::from_layers(&sources)
            .map_err(|errors| LoadError::Invalid(errors.iter().map(|e| e.to_string()).collect()))?;
        Ok((policy, names))
    }
}

impl PolicyLocation {
    /// Reads the files that make up the policy (nothing is parsed or
    /// merged yet: see [`PolicyFiles::merge`]).
    pub fn read(&self) -> Result<PolicyFiles, LoadError> {
        let layers = match self {
            PolicyLocation::Single(path) => vec![("--config", read_source(path)?)],
            PolicyLocation::Layered {
                vendor_dir,
                admin_file,
                admin_dir,
            } => {
                let mut sources = Vec::new();
                for path in toml_files_in(vendor_dir)? {
                    sources.push(("vendor", read_source(&path)?));
                }
                if admin_file.exists() {
                    sources.push(("admin", read_source(admin_file)?));
                }
                for path in toml_files_in(admin_dir)? {
                    sources.push(("drop-in", read_source(&path)?));
                }
                sources
            }
        };
        Ok(PolicyFiles { layers })
    }

    /// Reads and merges the files, with `top` over them.
    #[cfg(test)]
    pub fn load_with(&self, top: Option<&PolicySource>) -> Result<Policy, LoadError> {
        self.read()?.merge(top)
    }
}

fn read_source(path: &Path) -> Result<PolicySource, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(PolicySource {
        name: path.display().to_string(),
        text,
    })
}

/// `*.toml` files of a directory in name order; a missing directory is empty.
fn toml_files_in(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(LoadError::Read {
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("mptcp-config-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("mkdir");
        d
    }

    #[test]
    fn layers_later_wins_and_missing_dirs_are_empty() {
        let d = tmpdir("layers");
        std::fs::create_dir_all(d.join("vendor")).expect("mkdir");
        std::fs::write(d.join("vendor/10-carrier.toml"), "[limits]\nsubflows = 2\n")
            .expect("write");
        std::fs::write(d.join("policy.toml"), "[limits]\nsubflows = 3\n").expect("write");
        let loc = PolicyLocation::Layered {
            vendor_dir: d.join("vendor"),
            admin_file: d.join("policy.toml"),
            admin_dir: d.join("absent.d"),
        };
        let policy = loc.load_with(None).expect("valid layers");
        assert_eq!(policy.limits.subflows, 3);
        std::fs::remove_dir_all(&d).expect("cleanup");
    }

    #[test]
    fn bad_file_names_file_line_column() {
        let d = tmpdir("bad");
        let f = d.join("p.toml");
        std::fs::write(&f, "[[interface]]\ntype = \"wifi\"\nrole = \"sometimes\"\n")
            .expect("write");
        let err = PolicyLocation::Single(f.clone())
            .load_with(None)
            .expect_err("bad role");
        let text = err.to_string();
        assert!(text.contains(&format!("{}:3:", f.display())), "{text}");
        let missing = PolicyLocation::Single(d.join("nope.toml"))
            .load_with(None)
            .expect_err("missing");
        assert!(missing.to_string().contains("cannot read"), "{missing}");
        std::fs::remove_dir_all(&d).expect("cleanup");
    }
}
