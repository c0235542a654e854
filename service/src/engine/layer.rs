//! The D-Bus policy layer: the changes made over D-Bus (roles, metered,
//! budgets, a replaced policy), kept as a policy of its own on top of the
//! files and saved in the state directory. It holds only what was changed
//! (`to_toml_overrides`), so lower layers keep every key it never set.

use mptcp_policy::{Policy, PolicySource};

use crate::store::StateDir;

/// The saved layer, or an empty one. A corrupt file is reported and kept
/// aside; the daemon starts without it rather than not at all.
pub fn load(state: &StateDir) -> Policy {
    let path = state.dbus_layer_path();
    let name = path.display().to_string();
    match state.load_dbus_layer() {
        Ok(None) => Policy::default(),
        Ok(Some(text)) => match Policy::parse(&name, &text) {
            Ok(p) => p,
            Err(errors) => {
                let aside = path.with_extension("toml.corrupt");
                tracing::error!(
                    "the saved D-Bus policy layer is invalid, kept aside as {}: {}",
                    aside.display(),
                    mptcp_policy::ErrorList(&errors)
                );
                let _ = std::fs::rename(&path, &aside);
                Policy::default()
            }
        },
        Err(e) => {
            tracing::error!("cannot read {name}: {e}; starting without the D-Bus policy layer");
            Policy::default()
        }
    }
}

/// The layer as a policy source for merging.
pub fn source(state: &StateDir, layer: &Policy) -> PolicySource {
    PolicySource {
        name: state.dbus_layer_path().display().to_string(),
        text: layer.to_toml_overrides(),
    }
}
