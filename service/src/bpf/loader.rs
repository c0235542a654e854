//! Loading and attaching the `mptcpify` program with libbpf-rs, and the
//! map of enabled cgroup ids. The load (at the first enabled app, see
//! `apps.rs`) is also the probe: when the kernel lacks BTF or the hook, or
//! refuses the program, the reason (with the errno) becomes the daemon's
//! `BpfStatus` and the daemon goes on with the preload path only.

use std::ffi::CString;
use std::path::Path;

use libbpf_rs::libbpf_sys;
use libbpf_rs::{AsRawLibbpf, Link, MapCore, MapFlags, Object, ObjectBuilder};
use nix::errno::Errno;

use super::object::{HOOK, MAP_NAME, OBJECT, PROGRAM_SECTION};

/// Where the kernel exposes its own BTF (needed to attach to a function).
const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

/// What `BpfStatus` says on D-Bus and in `mptcp-policyctl status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BpfStatus {
    /// Not loaded yet: no app is enabled. Loading parses the kernel's BTF
    /// (~12 ms of CPU, a 16 MB buffer), so the daemon does it only when an
    /// app needs it.
    NotLoaded,
    /// Loaded and attached.
    Active,
    /// Not available; why.
    Unavailable(String),
}

impl std::fmt::Display for BpfStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BpfStatus::NotLoaded => {
                f.write_str("not loaded (no app enabled; it loads with the first one)")
            }
            BpfStatus::Active => write!(f, "active ({PROGRAM_SECTION})"),
            BpfStatus::Unavailable(why) => write!(f, "unavailable ({why})"),
        }
    }
}

/// The loaded, attached program. Dropping it detaches it.
pub struct Mptcpify {
    // Declared first: the link is dropped (program detached) before the object.
    _link: Link,
    object: Object,
}

impl std::fmt::Debug for Mptcpify {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Mptcpify")
    }
}

/// The capabilities that matter for loading a tracing program.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Caps {
    pub bpf: bool,
    pub perfmon: bool,
    pub sys_admin: bool,
}

impl Caps {
    /// From the `CapEff:` line of `/proc/self/status` (hex mask).
    pub fn from_status(status: &str) -> Caps {
        let mask = status
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
            .unwrap_or(0);
        let has = |bit: u32| mask & (1 << bit) != 0;
        Caps {
            sys_admin: has(21),
            perfmon: has(38),
            bpf: has(39),
        }
    }

    fn current() -> Caps {
        Caps::from_status(&std::fs::read_to_string("/proc/self/status").unwrap_or_default())
    }

    fn may_load_tracing(self) -> bool {
        self.sys_admin || (self.bpf && self.perfmon)
    }
}

/// The human reason for a refused load (pure: errno and capabilities in).
pub fn load_failure_reason(errno: Errno, caps: Caps) -> String {
    let what = format!(
        "loading {PROGRAM_SECTION} failed: {errno:?} ({})",
        errno.desc()
    );
    match errno {
        Errno::EPERM | Errno::EACCES if !caps.may_load_tracing() => {
            format!("{what}; the daemon lacks CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)")
        }
        Errno::EPERM | Errno::EACCES => format!(
            "{what}; the kernel refuses BPF trampoline programs (fentry/fmod_ret) \
             although the daemon has the capabilities"
        ),
        Errno::ENOENT | Errno::ESRCH | Errno::EINVAL => {
            format!("{what}; the kernel cannot attach to {HOOK}")
        }
        _ => what,
    }
}

impl Mptcpify {
    /// Loads the program and, if `attach`, attaches it (`None` when not);
    /// the error is the reason to report.
    pub fn load(attach: bool) -> Result<Option<Mptcpify>, String> {
        route_libbpf_log();
        if !Path::new(VMLINUX_BTF).exists() {
            return Err(format!(
                "the kernel has no BTF ({VMLINUX_BTF} missing; needs CONFIG_DEBUG_INFO_BTF)"
            ));
        }
        if !kernel_has_hook()? {
            return Err(format!(
                "the kernel has no {HOOK} hook (Linux 6.6 or later has it)"
            ));
        }
        let open = ObjectBuilder::default()
            .open_memory(OBJECT)
            .map_err(|e| format!("libbpf cannot open the BPF object: {e}"))?;
        // bpf_object__load itself rather than OpenObject::load: its return
        // value is the kernel's -errno, which the reason names exactly.
        let ptr = open.as_libbpf_object();
        // SAFETY: `ptr` is the valid, not yet loaded object owned by `open`.
        let ret = unsafe { libbpf_sys::bpf_object__load(ptr.as_ptr()) };
        if ret < 0 {
            return Err(load_failure_reason(Errno::from_raw(-ret), Caps::current()));
        }
        // SAFETY: loaded just now; ownership moves from `open` (which is
        // forgotten, not closed) to `object`.
        let object = unsafe { Object::from_ptr(ptr) };
        std::mem::forget(open);
        if !attach {
            return Ok(None);
        }
        let link = object
            .progs_mut()
            .next()
            .ok_or_else(|| "the BPF object has no program".to_string())?
            .attach()
            .map_err(|e| format!("attaching to {HOOK} failed: {e}"))?;
        Ok(Some(Mptcpify {
            _link: link,
            object,
        }))
    }

    /// Adds (`enabled`) or removes a cgroup id in the map.
    pub fn set(&self, id: u64, enabled: bool) -> Result<(), String> {
        let map = self
            .object
            .maps()
            .find(|m| m.name() == MAP_NAME)
            .ok_or_else(|| format!("the BPF object has no map {MAP_NAME}"))?;
        let key = id.to_ne_bytes();
        let result = if enabled {
            map.update(&key, &[1], MapFlags::ANY)
        } else {
            match map.delete(&key) {
                Err(e) if e.kind() == libbpf_rs::ErrorKind::NotFound => Ok(()),
                other => other,
            }
        };
        result.map_err(|e| format!("BPF map {MAP_NAME}: {e}"))
    }
}

/// True when the kernel's BTF describes the hook function.
fn kernel_has_hook() -> Result<bool, String> {
    let name = CString::new(HOOK).map_err(|e| e.to_string())?;
    // SAFETY: libbpf reads /sys/kernel/btf/vmlinux; we free what it returns.
    unsafe {
        let btf = libbpf_sys::btf__load_vmlinux_btf();
        if btf.is_null() {
            return Err(format!(
                "libbpf cannot read the kernel's BTF ({VMLINUX_BTF})"
            ));
        }
        let id = libbpf_sys::btf__find_by_name_kind(btf, name.as_ptr(), libbpf_sys::BTF_KIND_FUNC);
        libbpf_sys::btf__free(btf);
        Ok(id > 0)
    }
}

/// libbpf's messages (including the verifier's) go to the daemon's log.
fn route_libbpf_log() {
    fn print(level: libbpf_rs::PrintLevel, msg: String) {
        let msg = msg.trim_end();
        match level {
            libbpf_rs::PrintLevel::Warn => tracing::debug!("libbpf: {msg}"),
            _ => tracing::trace!("libbpf: {msg}"),
        }
    }
    libbpf_rs::set_print(Some((libbpf_rs::PrintLevel::Debug, print)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_come_from_capeff() {
        let all = "Name:\tx\nCapEff:\t000001ffffffffff\n";
        let net_admin = "CapEff:\t0000000000001000\n";
        let bpf_perfmon = "CapEff:\t000000c000000000\n";
        assert_eq!(
            Caps::from_status(all),
            Caps {
                bpf: true,
                perfmon: true,
                sys_admin: true
            }
        );
        assert_eq!(Caps::from_status(net_admin), Caps::default());
        assert!(Caps::from_status(bpf_perfmon).may_load_tracing());
        assert!(!Caps::from_status(net_admin).may_load_tracing());
        assert_eq!(Caps::from_status("garbage"), Caps::default());
    }

    #[test]
    fn reasons_name_the_errno_and_the_likely_cause() {
        let root = Caps {
            bpf: true,
            perfmon: true,
            sys_admin: true,
        };
        let cases = [
            (
                Errno::EPERM,
                root,
                "EPERM (Operation not permitted)",
                "refuses BPF trampoline",
            ),
            (Errno::EPERM, Caps::default(), "EPERM", "lacks CAP_BPF"),
            (
                Errno::ESRCH,
                root,
                "ESRCH",
                "cannot attach to update_socket_protocol",
            ),
            (
                Errno::E2BIG,
                root,
                "E2BIG (Argument list too long)",
                "E2BIG",
            ),
        ];
        for (errno, caps, has, also) in cases {
            let r = load_failure_reason(errno, caps);
            assert!(r.contains(has) && r.contains(also), "{r}");
            assert!(r.contains(PROGRAM_SECTION), "{r}");
        }
        assert_eq!(
            BpfStatus::Unavailable("x".into()).to_string(),
            "unavailable (x)"
        );
        assert_eq!(
            BpfStatus::Active.to_string(),
            "active (fmod_ret/update_socket_protocol)"
        );
    }
}
