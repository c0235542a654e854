//! Building an [`super::NmTestbed`]: the veth links, the per-test
//! directories bind-mounted into NetworkManager's mount namespace, the
//! namespace holder, dnsmasq, and `nsenter` into those namespaces.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use super::{NmOpts, CHECK_OK, NM_LINKS, NM_SERVER, START_TIMEOUT};
use crate::bins::find_bin;
use crate::daemon_env::repo;
use crate::process::{ip, wait_for, BgProcess};

/// The per-test directories bind-mounted into the namespace.
pub(super) struct Dirs {
    pub etc: PathBuf,
    pub lib: PathBuf,
    pub run: PathBuf,
    pub resolv: PathBuf,
    pub bin: PathBuf,
    pub www: PathBuf,
}

impl Dirs {
    pub(super) fn create(root: &Path, opts: &NmOpts) -> Result<Dirs> {
        let d = Dirs {
            etc: root.join("etc-NetworkManager"),
            lib: root.join("var-lib-NetworkManager"),
            run: root.join("run"),
            resolv: root.join("resolv.conf"),
            bin: root.join("usr-local-bin"),
            www: root.join("www"),
        };
        for sub in ["conf.d", "dispatcher.d", "system-connections"] {
            std::fs::create_dir_all(d.etc.join(sub))?;
        }
        for p in [
            &d.lib,
            &d.run.join("dbus"),
            &d.run.join("NetworkManager"),
            &d.bin,
            &d.www,
        ] {
            std::fs::create_dir_all(p)?;
        }
        std::fs::set_permissions(&d.run, std::fs::Permissions::from_mode(0o755))?;
        std::fs::write(&d.resolv, "# NetworkManager test namespace\n")?;
        std::fs::write(d.www.join("default.body"), CHECK_OK)?;
        std::fs::write(
            d.etc.join("NetworkManager.conf"),
            format!(
                "[main]\nplugins=keyfile\nno-auto-default=*\ndns=none\nrc-manager=unmanaged\n\
                 hostname-mode=none\nauth-polkit=false\ndhcp=internal\n\
                 [keyfile]\nunmanaged-devices=interface-name:lo\n\
                 [connectivity]\nuri=http://{NM_SERVER}/check\nresponse={}\ninterval=300\n\
                 [logging]\nlevel=INFO\n",
                CHECK_OK.trim_end()
            ),
        )?;
        if opts.dropin {
            std::fs::copy(
                repo().join("networkmanager/conf.d/90-mptcp-policyd.conf"),
                d.etc.join("conf.d/90-mptcp-policyd.conf"),
            )?;
        }
        if opts.hook {
            let hook = d.etc.join("dispatcher.d/90-mptcp-policyd");
            std::fs::copy(
                repo().join("networkmanager/dispatcher.d/90-mptcp-policyd"),
                &hook,
            )?;
            std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755))?;
            let ctl = find_bin("mptcp-policyctl", "MPTCP_POLICYCTL")?;
            std::fs::copy(&ctl, d.bin.join("mptcp-policyctl"))?;
        }
        Ok(d)
    }
}

fn sh_quote(p: &Path) -> Result<String> {
    let s = p.to_str().context("path is not UTF-8")?;
    Ok(format!("'{}'", s.replace('\'', r"'\''")))
}

/// `nsenter -t PID -m -n -- program`: NetworkManager's mount and network
/// namespaces (no fork: the child's pid is the program's).
pub(super) fn nsenter(pid: u32, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new("nsenter");
    cmd.arg("-t")
        .arg(pid.to_string())
        .args(["-m", "-n", "--"])
        .arg(program)
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    cmd
}

pub(super) fn build_links(client: &str, server: &str) -> Result<()> {
    for (ifname, peer, addr) in NM_LINKS {
        ip(&[
            "link", "add", ifname, "netns", client, "type", "veth", "peer", "name", peer, "netns",
            server,
        ])?;
        ip(&["-n", server, "addr", "add", addr, "dev", peer])?;
        ip(&["-n", server, "link", "set", peer, "up"])?;
    }
    ip(&[
        "-n",
        server,
        "addr",
        "add",
        &format!("{NM_SERVER}/32"),
        "dev",
        "lo",
    ])?;
    // NetworkManager brings eth1/eth2 up itself when it activates them.
    Ok(())
}

/// The holder: `ip netns exec` gives it a mount namespace of its own (a
/// slave of the host's: nothing propagates back), where the private
/// directories are mounted; it then sleeps until killed.
pub(super) fn start_holder(
    client: &str,
    d: &Dirs,
    bus_socket: &Path,
    log_dir: &Path,
) -> Result<BgProcess> {
    let script = format!(
        "set -e; mount --bind {etc} /etc/NetworkManager; mount --bind {lib} /var/lib/NetworkManager; \
         mount --bind {run} /run; mount --bind {resolv} /etc/resolv.conf; \
         mount --bind {bin} /usr/local/bin; mount -o remount,ro /sys; \
         ln -sf {sock} /run/dbus/system_bus_socket; echo ready; exec sleep 1000000",
        etc = sh_quote(&d.etc)?,
        lib = sh_quote(&d.lib)?,
        run = sh_quote(&d.run)?,
        resolv = sh_quote(&d.resolv)?,
        bin = sh_quote(&d.bin)?,
        sock = sh_quote(bus_socket)?,
    );
    let mut holder = BgProcess::spawn_in_ns(
        client,
        "ns-holder",
        Path::new("sh"),
        &["-c".to_string(), script],
        log_dir,
    )?;
    wait_for("the mount namespace holder", START_TIMEOUT, || {
        if let Some(st) = holder.try_status()? {
            bail!("namespace holder exited ({st}): {}", holder.stderr());
        }
        Ok(holder.stdout().contains("ready"))
    })?;
    Ok(holder)
}

pub(super) fn start_dnsmasq(server: &str, opts: &NmOpts, dir: &Path) -> Result<BgProcess> {
    let mut args: Vec<String> = [
        "--no-daemon",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--port=0",
        "--bind-interfaces",
        "--interface=p1",
        "--interface=p2",
        "--dhcp-authoritative",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.push(format!("--dhcp-leasefile={}", dir.join("leases").display()));
    for (i, metered) in opts.android_metered.iter().enumerate() {
        let net = i + 1;
        args.push(format!(
            "--dhcp-range=set:link{net},10.31.{net}.10,10.31.{net}.50,255.255.255.0,1h"
        ));
        if *metered {
            args.push(format!(
                "--dhcp-option-force=tag:link{net},43,ANDROID_METERED"
            ));
        }
    }
    BgProcess::spawn_in_ns(
        server,
        "dnsmasq",
        Path::new("/usr/sbin/dnsmasq"),
        &args,
        dir,
    )
}
