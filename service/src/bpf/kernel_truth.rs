//! The probe tells the truth on this machine: an independent attempt —
//! the smallest possible `fmod_ret` program on the hook, `r0 = 0; exit`,
//! loaded with a bare bpf(2) system call — gets the same answer from the
//! kernel as the daemon's libbpf load of the real object. Where the kernel
//! accepts it, the whole path is exercised: this process's own cgroup is
//! enabled and a plain TCP socket comes out as MPTCP.

use std::ffi::CString;

use libbpf_rs::libbpf_sys;
use nix::errno::Errno;

use super::object::HOOK;
use super::{cgroups, Mptcpify};

/// bpf(BPF_PROG_LOAD) of `r0 = 0; exit` as fmod_ret on the hook.
fn raw_fmod_ret_load() -> Result<(), Errno> {
    let name = CString::new(HOOK).expect("no NUL");
    // SAFETY: libbpf parses the kernel's BTF; freed below.
    let btf_id = unsafe {
        let btf = libbpf_sys::btf__load_vmlinux_btf();
        assert!(!btf.is_null(), "kernel BTF readable");
        let id = libbpf_sys::btf__find_by_name_kind(btf, name.as_ptr(), libbpf_sys::BTF_KIND_FUNC);
        libbpf_sys::btf__free(btf);
        id
    };
    if btf_id <= 0 {
        return Err(Errno::ENOENT);
    }
    // BPF_ALU64|BPF_MOV|BPF_K r0 = 0; BPF_JMP|BPF_EXIT.
    let insns: [u64; 2] = [0xb7, 0x95];
    let license = c"GPL";
    // union bpf_attr, BPF_PROG_LOAD part (include/uapi/linux/bpf.h offsets).
    let mut attr = [0u8; 128];
    let put32 =
        |a: &mut [u8; 128], off: usize, v: u32| a[off..off + 4].copy_from_slice(&v.to_ne_bytes());
    let put64 =
        |a: &mut [u8; 128], off: usize, v: u64| a[off..off + 8].copy_from_slice(&v.to_ne_bytes());
    put32(&mut attr, 0, libbpf_sys::BPF_PROG_TYPE_TRACING);
    put32(&mut attr, 4, insns.len() as u32);
    put64(&mut attr, 8, insns.as_ptr() as u64);
    put64(&mut attr, 16, license.as_ptr() as u64);
    put32(&mut attr, 68, libbpf_sys::BPF_MODIFY_RETURN);
    put32(&mut attr, 108, btf_id as u32);
    // SAFETY: attr is a valid, zero-padded bpf_attr of the size passed.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            libbpf_sys::BPF_PROG_LOAD as libc::c_long,
            attr.as_ptr(),
            attr.len() as libc::c_long,
        )
    };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: our own fresh descriptor.
    unsafe { libc::close(fd as libc::c_int) };
    Ok(())
}

#[test]
fn probe_reports_what_the_kernel_answers() {
    let kernel = raw_fmod_ret_load();
    let ours = Mptcpify::load(true);
    eprintln!(
        "bare bpf(2) load: {kernel:?}; daemon probe: {:?}",
        ours.as_ref().map(|_| "active")
    );
    match (kernel, ours) {
        (Err(errno), Err(reason)) => {
            assert!(
                reason.contains(&format!("{errno:?} ({})", errno.desc())),
                "the kernel said {errno:?}, the probe reports: {reason}"
            );
        }
        (Ok(()), Ok(prog)) => {
            let prog = prog.expect("attached");
            // The kernel allows it: the real thing, on this process's cgroup.
            let root = cgroups::find_cgroup2_mount().expect("cgroup2");
            let own = std::fs::read_to_string("/proc/self/cgroup").expect("read");
            let own = own
                .lines()
                .find_map(|l| l.strip_prefix("0::"))
                .and_then(|l| cgroups::CgroupPath::parse(l).ok())
                .expect("0:: line");
            let id = cgroups::cgroup_id(&root, &own).expect("id");
            prog.set(id, true).expect("map update");
            let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
                .expect("socket");
            assert_eq!(s.protocol().expect("SO_PROTOCOL"), Some(262.into()));
            prog.set(id, false).expect("map delete");
            let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
                .expect("socket");
            assert_eq!(s.protocol().expect("SO_PROTOCOL"), Some(6.into()));
        }
        (kernel, ours) => panic!(
            "probe disagrees with the kernel: bare load {kernel:?}, probe {:?}",
            ours.map(|_| "active")
        ),
    }
}
