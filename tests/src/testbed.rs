//! The two-namespace MPTCP testbed: a "phone" (client) with a WiFi and an
//! LTE radio, a server reachable over both. See the crate docs.

use crate::bins::find_bin;
use crate::clock::monotonic_us;
use crate::netns::Netns;
use crate::process::{ip, ns_exec, run, run_output, wait_for, BgProcess, CMD_TIMEOUT};
use crate::tempdir::TempDir;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The server's service address (on its `lo`), reachable over both radios.
pub const SERVER_V4: &str = "10.9.0.1";
/// The server's IPv6 service address.
pub const SERVER_V6: &str = "fd00:9::1";
/// Client WiFi / LTE addresses.
pub const WLAN_V4: &str = "10.1.0.2";
pub const WWAN_V4: &str = "10.2.0.2";
pub const WLAN_V6: &str = "fd00:1::2";
pub const WWAN_V6: &str = "fd00:2::2";

/// The nftables table (family `inet`, in both namespaces) holding the
/// testbed's blackhole and random-loss chains; it goes with the namespaces.
pub const NFT_TABLE: &str = "mptcp_testbed";
/// Priority of those prerouting chains: after iptables' mangle PREROUTING
/// (-150), where the NFQUEUE delayer picks packets up, so that packets held by
/// the delayer at the moment of a cut are dropped when it releases them.
const DROP_PRIORITY: i32 = 10;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// One radio: client interface, server-side peer, addressing, delay.
struct Radio {
    ifname: &'static str,
    peer: &'static str,
    net: u8,
    table: u32,
    metric: u32,
    queue: u16,
}

const RADIOS: [Radio; 2] = [
    Radio {
        ifname: "wlan0",
        peer: "wlan0p",
        net: 1,
        table: 10,
        metric: 10,
        queue: 1,
    },
    Radio {
        ifname: "wwan0",
        peer: "wwan0p",
        net: 2,
        table: 20,
        metric: 20,
        queue: 2,
    },
];

/// Testbed options.
#[derive(Debug, Clone)]
pub struct TestbedOpts {
    /// Configure IPv6 addresses, routes and rules too.
    pub ipv6: bool,
    /// Round-trip times (ms) added by the delayer: WiFi, LTE.
    pub wifi_rtt_ms: u64,
    pub lte_rtt_ms: u64,
    /// Optional tbf rate limits (kbit/s) on both ends of each radio.
    pub wifi_rate_kbit: Option<u64>,
    pub lte_rate_kbit: Option<u64>,
    /// WiFi delay ramp (RTT to reach ms, over ms), started by
    /// [`Testbed::start_delay_ramp`]: a fade that slows WiFi without loss.
    pub wifi_delay_ramp: Option<(u64, u64)>,
    /// Path of `mptcp-delayer` (default: env `MPTCP_DELAYER` or next to the
    /// current executable).
    pub delayer: Option<PathBuf>,
}

impl Default for TestbedOpts {
    fn default() -> Self {
        Self {
            ipv6: true,
            wifi_rtt_ms: 10,
            lte_rtt_ms: 40,
            wifi_rate_kbit: None,
            lte_rate_kbit: None,
            wifi_delay_ramp: None,
            delayer: None,
        }
    }
}

/// Client + server namespaces joined by `wlan0`/`wwan0` veth radios.
/// Dropping it kills the delayer and deletes both namespaces and temp files.
#[derive(Debug)]
pub struct Testbed {
    // Field order = drop order: the delayer first, then namespaces, temp dir last.
    delayers: Vec<BgProcess>,
    client: Netns,
    server: Netns,
    tmp: TempDir,
    opts: TestbedOpts,
}

impl Testbed {
    /// Build the testbed (namespaces `mpt<pid>x<n>c` / `mpt<pid>x<n>s`).
    pub fn new(opts: TestbedOpts) -> Result<Self> {
        let delayer_bin = match &opts.delayer {
            Some(p) => p.clone(),
            None => find_bin("mptcp-delayer", "MPTCP_DELAYER")?,
        };
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let base = format!("mpt{}x{n}", std::process::id());
        let tmp = TempDir::new("mptcp-testbed")?;
        let client = Netns::new(&format!("{base}c"))?;
        let server = Netns::new(&format!("{base}s"))?;
        let mut tb = Self {
            delayers: Vec::new(),
            client,
            server,
            tmp,
            opts,
        };
        tb.setup(&delayer_bin)
            .with_context(|| format!("setting up testbed {base}"))?;
        Ok(tb)
    }

    /// Client ("phone") namespace name.
    pub fn client_ns(&self) -> &str {
        self.client.name()
    }

    /// Server namespace name.
    pub fn server_ns(&self) -> &str {
        self.server.name()
    }

    /// Temporary directory owned by the testbed (logs, records, configs).
    pub fn tmp_dir(&self) -> &std::path::Path {
        self.tmp.path()
    }

    /// The delayer processes, server side first (logs, liveness).
    pub fn delayers(&mut self) -> &mut [BgProcess] {
        &mut self.delayers
    }

    fn setup(&mut self, delayer_bin: &std::path::Path) -> Result<()> {
        let (c, s) = (
            self.client.name().to_string(),
            self.server.name().to_string(),
        );
        for ns in [&c, &s] {
            let mut sysctls = vec![
                "net.ipv4.conf.all.rp_filter=0",
                "net.ipv4.conf.default.rp_filter=0",
            ];
            if !self.opts.ipv6 {
                sysctls.push("net.ipv6.conf.all.disable_ipv6=1");
                sysctls.push("net.ipv6.conf.default.disable_ipv6=1");
            }
            let mut a = vec!["-q", "-w"];
            a.extend(sysctls);
            ns_exec(ns, "sysctl", &a)?;
        }
        for r in &RADIOS {
            ip(&[
                "-n", &c, "link", "add", r.ifname, "type", "veth", "peer", "name", r.peer, "netns",
                &s,
            ])?;
            let (cv4, sv4) = (
                format!("10.{}.0.2/24", r.net),
                format!("10.{}.0.1/24", r.net),
            );
            ip(&["-n", &c, "addr", "add", &cv4, "dev", r.ifname])?;
            ip(&["-n", &s, "addr", "add", &sv4, "dev", r.peer])?;
            if self.opts.ipv6 {
                let (cv6, sv6) = (
                    format!("fd00:{}::2/64", r.net),
                    format!("fd00:{}::1/64", r.net),
                );
                ip(&["-n", &c, "addr", "add", &cv6, "dev", r.ifname, "nodad"])?;
                ip(&["-n", &s, "addr", "add", &sv6, "dev", r.peer, "nodad"])?;
            }
            ip(&["-n", &c, "link", "set", r.ifname, "up"])?;
            ip(&["-n", &s, "link", "set", r.peer, "up"])?;
        }
        ip(&[
            "-n",
            &s,
            "addr",
            "add",
            &format!("{SERVER_V4}/32"),
            "dev",
            "lo",
        ])?;
        if self.opts.ipv6 {
            ip(&[
                "-n",
                &s,
                "addr",
                "add",
                &format!("{SERVER_V6}/128"),
                "dev",
                "lo",
            ])?;
        }
        self.client_routes()?;
        set_mptcp_limits(&s)?;
        self.start_delayer(delayer_bin)?;
        self.rate_limits()?;
        wait_for("radios to come up", Duration::from_secs(5), || {
            let out = ip(&["-n", &c, "-j", "link", "show"])?;
            Ok(RADIOS.iter().all(|r| {
                out.contains(&format!("\"ifname\":\"{}\"", r.ifname)) && !out.contains("NO-CARRIER")
            }))
        })
    }

    fn client_routes(&self) -> Result<()> {
        let c = self.client.name();
        let fams: &[(&str, &str, &str)] = if self.opts.ipv6 {
            &[
                ("-4", "10.{}.0.1", SERVER_V4),
                ("-6", "fd00:{}::1", SERVER_V6),
            ]
        } else {
            &[("-4", "10.{}.0.1", SERVER_V4)]
        };
        for &(fam, gw_fmt, server) in fams {
            for r in &RADIOS {
                let gw = gw_fmt.replace("{}", &r.net.to_string());
                let local = if fam == "-4" {
                    format!("10.{}.0.2", r.net)
                } else {
                    format!("fd00:{}::2", r.net)
                };
                let (metric, table) = (r.metric.to_string(), r.table.to_string());
                ip(&[
                    "-n", c, fam, "route", "add", server, "via", &gw, "dev", r.ifname, "metric",
                    &metric,
                ])?;
                ip(&[
                    "-n", c, fam, "route", "add", "default", "via", &gw, "dev", r.ifname, "table",
                    &table,
                ])?;
                ip(&[
                    "-n",
                    c,
                    fam,
                    "route",
                    "add",
                    "unreachable",
                    "default",
                    "metric",
                    "4096",
                    "table",
                    &table,
                ])?;
                ip(&[
                    "-n", c, fam, "rule", "add", "from", &local, "lookup", &table, "pref", "100",
                ])?;
            }
        }
        Ok(())
    }

    /// Delay is added where a packet is *received*: client→server on the
    /// server's ingress, server→client on the client's ingress. (Held in the
    /// sender's own egress, packets still count against its socket and TCP
    /// small queues throttle it: downloads then measured ~20 ms slower.)
    fn start_delayer(&mut self, bin: &std::path::Path) -> Result<()> {
        let s = self.server.name().to_string();
        let c = self.client.name().to_string();
        let rtts = [self.opts.wifi_rtt_ms, self.opts.lte_rtt_ms];
        for (ns, tag) in [(&s, "server"), (&c, "client")] {
            let ready = self.tmp.join(&format!("delayer-{tag}.ready"));
            let mut args = vec!["--ready-file".to_string(), ready.display().to_string()];
            for (r, rtt) in RADIOS.iter().zip(rtts) {
                args.push("--queue".into());
                args.push(format!("{}:{}", r.queue, rtt / 2));
            }
            if let Some((to_rtt, over_ms)) = self.opts.wifi_delay_ramp {
                // Split like the base RTT: each direction holds half.
                args.push("--ramp".into());
                args.push(format!("{}:{}:{over_ms}", RADIOS[0].queue, to_rtt / 2));
            }
            let name = format!("delayer-{tag}");
            let mut p = BgProcess::spawn_in_ns(ns, &name, bin, &args, self.tmp.path())?;
            let waited = wait_for("delayer ready", Duration::from_secs(5), || {
                if let Some(st) = p.try_status()? {
                    bail!("delayer exited ({st}): {}", p.stderr().trim());
                }
                Ok(ready.exists())
            });
            self.delayers.push(p);
            waited?;
        }
        // This kernel has no nft `queue` expression (CONFIG_NFT_QUEUE unset) but
        // has the xtables NFQUEUE target: iptables(-nft) reaches it via nft_compat.
        let mut tools = vec!["iptables"];
        if self.opts.ipv6 {
            tools.push("ip6tables");
        }
        for tool in tools {
            for r in &RADIOS {
                let q = r.queue.to_string();
                for (ns, dev) in [(&s, r.peer), (&c, r.ifname)] {
                    ns_exec(
                        ns,
                        tool,
                        &[
                            "-w",
                            "-t",
                            "mangle",
                            "-A",
                            "PREROUTING",
                            "-i",
                            dev,
                            "-j",
                            "NFQUEUE",
                            "--queue-num",
                            &q,
                        ],
                    )
                    .with_context(|| format!("{tool} NFQUEUE rule (apt-get install iptables?)"))?;
                }
            }
        }
        Ok(())
    }

    fn rate_limits(&self) -> Result<()> {
        let rates = [self.opts.wifi_rate_kbit, self.opts.lte_rate_kbit];
        for (r, rate) in RADIOS.iter().zip(rates) {
            let Some(kbit) = rate else { continue };
            let rate = format!("{kbit}kbit");
            for (ns, dev) in [(self.client.name(), r.ifname), (self.server.name(), r.peer)] {
                run(
                    "tc",
                    &[
                        "-n", ns, "qdisc", "replace", "dev", dev, "root", "tbf", "rate", &rate,
                        "burst", "32kb", "latency", "100ms",
                    ],
                    CMD_TIMEOUT,
                )?;
            }
        }
        Ok(())
    }

    /// "Kernel alone" baseline: client limits 4/4, WiFi `subflow`, LTE `subflow backup`.
    pub fn set_static_endpoints(&self) -> Result<()> {
        let c = self.client.name();
        set_mptcp_limits(c)?;
        ip(&[
            "-n", c, "mptcp", "endpoint", "add", WLAN_V4, "dev", "wlan0", "subflow",
        ])?;
        ip(&[
            "-n", c, "mptcp", "endpoint", "add", WWAN_V4, "dev", "wwan0", "subflow", "backup",
        ])?;
        Ok(())
    }

    /// `ip -n CLIENT mptcp endpoint show` output.
    pub fn client_endpoints(&self) -> Result<String> {
        ip(&["-n", self.client.name(), "mptcp", "endpoint", "show"])
    }

    /// Take a client interface down; returns the CLOCK_MONOTONIC µs right
    /// after `ip link set … down` returned (the cut happened just before).
    pub fn link_down(&self, ifname: &str) -> Result<u64> {
        link_set(self.client.name(), ifname, "down")
    }

    /// Bring a client interface back up; returns CLOCK_MONOTONIC µs as for
    /// [`Testbed::link_down`].
    pub fn link_up(&self, ifname: &str) -> Result<u64> {
        link_set(self.client.name(), ifname, "up")
    }

    /// Silent loss: drop every packet of radio `ifname` (client name, e.g.
    /// `wlan0`) in both directions while the link stays up — how WiFi fails
    /// out of range. Returns the CLOCK_MONOTONIC µs right after the drop rules
    /// were committed in both namespaces (as for [`Testbed::link_down`]).
    ///
    /// The drops sit on the *receiving* side of each direction (server
    /// ingress for client→server, client ingress for server→client), in
    /// prerouting chains of table `inet mptcp_testbed` with a priority after
    /// iptables' mangle PREROUTING (-150), where the NFQUEUE delayer takes its
    /// packets: a packet the delayer holds at the moment of the cut traverses
    /// the later chain when it is released, and is dropped too. Nothing is
    /// dropped on a sender's egress: that would fail its `sendmsg`/TCP
    /// transmit locally (EPERM) instead of letting the packet vanish on the
    /// air, and TCP would not even count it as in flight.
    pub fn blackhole(&self, ifname: &str) -> Result<u64> {
        self.nft_drop_chain(ifname, "bh", "counter drop")
    }

    /// Undo [`Testbed::blackhole`] (no-op if not blackholed); returns the
    /// CLOCK_MONOTONIC µs right after both namespaces were healed.
    pub fn unblackhole(&self, ifname: &str) -> Result<u64> {
        self.nft_remove_chain(ifname, "bh")
    }

    /// Random loss on radio `ifname`: each packet, in each direction, is
    /// dropped with probability `percent` % (`numgen random mod 100 < N`),
    /// placed like the [`Testbed::blackhole`] rules. `0` removes the loss.
    pub fn random_loss(&self, ifname: &str, percent: u32) -> Result<()> {
        if percent > 100 {
            bail!("loss percent {percent} > 100");
        }
        if percent == 0 {
            self.nft_remove_chain(ifname, "loss")?;
        } else {
            self.nft_drop_chain(
                ifname,
                "loss",
                &format!("numgen random mod 100 < {percent} counter drop"),
            )?;
        }
        Ok(())
    }

    /// Packets dropped so far by the blackhole and loss rules of radio
    /// `ifname`, both namespaces together (rules removed since are not counted).
    pub fn dropped_packets(&self, ifname: &str) -> Result<u64> {
        let r = radio(ifname)?;
        let mut total = 0;
        for ns in [self.client.name(), self.server.name()] {
            let out = ns_exec(ns, "nft", &["-j", "list", "ruleset"])?;
            let v: serde_json::Value =
                serde_json::from_str(&out).context("parsing nft -j output")?;
            for item in v["nftables"].as_array().into_iter().flatten() {
                let rule = &item["rule"];
                let chain = rule["chain"].as_str().unwrap_or("");
                if rule["table"] != NFT_TABLE || !chain.ends_with(&format!("_{}", r.ifname)) {
                    continue;
                }
                for e in rule["expr"].as_array().into_iter().flatten() {
                    total += e["counter"]["packets"].as_u64().unwrap_or(0);
                }
            }
        }
        Ok(total)
    }

    /// Whether client interface `ifname` is administratively and
    /// operationally up with a carrier.
    pub fn link_is_up(&self, ifname: &str) -> Result<bool> {
        let out = ip(&[
            "-n",
            self.client.name(),
            "-j",
            "link",
            "show",
            "dev",
            ifname,
        ])?;
        let v: serde_json::Value = serde_json::from_str(&out).context("parsing ip -j link")?;
        let l = &v[0];
        let flags: Vec<&str> = l["flags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str())
            .collect();
        Ok(l["operstate"] == "UP" && flags.contains(&"UP") && !flags.contains(&"NO-CARRIER"))
    }

    /// Whether any of 3 pings (50 ms apart, 1 s deadline) from the client's
    /// `local` address to `dst` is answered.
    pub fn ping_ok(&self, local: &str, dst: &str) -> Result<bool> {
        let out = run_output(
            Command::new("ip").args([
                "netns",
                "exec",
                self.client.name(),
                "ping",
                "-n",
                "-q",
                "-c",
                "3",
                "-i",
                "0.05",
                "-w",
                "1",
                "-I",
                local,
                dst,
            ]),
            Duration::from_secs(10),
        )?;
        Ok(out.status.success())
    }

    /// Add (or replace) the base chain `<kind>_<ifname>` holding one rule
    /// `iifname DEV <verdict>` in both namespaces, concurrently; returns the
    /// CLOCK_MONOTONIC µs once both committed.
    fn nft_drop_chain(&self, ifname: &str, kind: &str, verdict: &str) -> Result<u64> {
        let r = radio(ifname)?;
        let chain = format!("{kind}_{}", r.ifname);
        let script = |dev: &str| {
            format!(
                "add table inet {NFT_TABLE}; \
                 add chain inet {NFT_TABLE} {chain} {{ type filter hook prerouting priority {DROP_PRIORITY}; policy accept; }}; \
                 flush chain inet {NFT_TABLE} {chain}; \
                 add rule inet {NFT_TABLE} {chain} iifname \"{dev}\" {verdict}"
            )
        };
        self.nft_both(&script(r.peer), &script(r.ifname))
            .with_context(|| format!("nft {kind} rules for {ifname} (apt-get install nftables?)"))
    }

    /// Remove the chain `<kind>_<ifname>` from both namespaces (if present).
    fn nft_remove_chain(&self, ifname: &str, kind: &str) -> Result<u64> {
        let r = radio(ifname)?;
        let chain = format!("{kind}_{}", r.ifname);
        // Adding it first makes the delete succeed when it does not exist.
        let script = format!(
            "add table inet {NFT_TABLE}; \
             add chain inet {NFT_TABLE} {chain} {{ type filter hook prerouting priority {DROP_PRIORITY}; policy accept; }}; \
             delete chain inet {NFT_TABLE} {chain}"
        );
        self.nft_both(&script, &script)
            .with_context(|| format!("removing nft {kind} rules for {ifname}"))
    }

    /// Run one nft script in the server and one in the client namespace at
    /// the same time; CLOCK_MONOTONIC µs after both returned.
    fn nft_both(&self, server: &str, client: &str) -> Result<u64> {
        let (s, c) = (self.server.name(), self.client.name());
        std::thread::scope(|sc| {
            let hs = sc.spawn(|| ns_exec(s, "nft", &[server]));
            let rc = ns_exec(c, "nft", &[client]);
            let rs = hs
                .join()
                .map_err(|_| anyhow::anyhow!("nft thread panicked"))?;
            rs.context("server namespace")?;
            rc.context("client namespace")?;
            Ok(monotonic_us())
        })
    }

    /// Start the WiFi delay ramp of [`TestbedOpts::wifi_delay_ramp`] (SIGUSR1
    /// to both delayers); returns CLOCK_MONOTONIC µs right after signalling.
    /// Ignored by a delayer whose ramp already runs.
    pub fn start_delay_ramp(&self) -> Result<u64> {
        self.signal_delayers(libc::SIGUSR1)
    }

    /// Put WiFi back to its configured RTT at once (SIGUSR2 to both
    /// delayers); returns CLOCK_MONOTONIC µs right after signalling.
    pub fn reset_delay_ramp(&self) -> Result<u64> {
        self.signal_delayers(libc::SIGUSR2)
    }

    fn signal_delayers(&self, sig: libc::c_int) -> Result<u64> {
        if self.opts.wifi_delay_ramp.is_none() {
            bail!("testbed made without TestbedOpts::wifi_delay_ramp: no delay ramp to drive");
        }
        for d in &self.delayers {
            let pid = d.pid().context("delayer already reaped")?;
            // SAFETY: kill(2) on our own, not yet reaped child (no pid reuse).
            if unsafe { libc::kill(pid as libc::pid_t, sig) } != 0 {
                return Err(std::io::Error::last_os_error())
                    .with_context(|| format!("signalling delayer {pid}"));
            }
        }
        Ok(monotonic_us())
    }

    /// Average ping RTT (ms) from the client, from `local` to `dst`.
    pub fn ping_rtt_ms(&self, local: &str, dst: &str, count: u32) -> Result<f64> {
        let out = run(
            "ip",
            &[
                "netns",
                "exec",
                self.client.name(),
                "ping",
                // User-to-user latency: the kernel's receive timestamp is
                // taken before the client-side ingress delay is applied.
                "-U",
                "-n",
                "-q",
                "-c",
                &count.to_string(),
                "-i",
                "0.05",
                "-W",
                "2",
                "-I",
                local,
                dst,
            ],
            Duration::from_secs(30),
        )?;
        parse_ping_avg(&out).with_context(|| format!("no rtt line in ping output: {out}"))
    }
}

/// The radio whose client interface is `ifname`.
fn radio(ifname: &str) -> Result<&'static Radio> {
    RADIOS
        .iter()
        .find(|r| r.ifname == ifname)
        .with_context(|| format!("no radio {ifname} (wlan0 or wwan0)"))
}

/// `ip mptcp limits set subflows 4 add_addr_accepted 4` in `ns` (a fresh
/// namespace starts with 2 / 0).
fn set_mptcp_limits(ns: &str) -> Result<()> {
    ip(&[
        "-n",
        ns,
        "mptcp",
        "limits",
        "set",
        "subflows",
        "4",
        "add_addr_accepted",
        "4",
    ])?;
    Ok(())
}

/// `ip -n NS link set IF up|down`; returns CLOCK_MONOTONIC µs just after it returned.
pub fn link_set(ns: &str, ifname: &str, state: &str) -> Result<u64> {
    ip(&["-n", ns, "link", "set", ifname, state])?;
    Ok(monotonic_us())
}

fn parse_ping_avg(out: &str) -> Option<f64> {
    // "rtt min/avg/max/mdev = 10.1/10.4/11.0/0.2 ms"
    let line = out.lines().find(|l| l.contains("min/avg/max"))?;
    let nums = line.split('=').nth(1)?.trim();
    nums.split('/').nth(1)?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn ping_avg() {
        let out = "--- x ---\n5 packets\nrtt min/avg/max/mdev = 10.1/10.42/11.0/0.2 ms\n";
        assert_eq!(super::parse_ping_avg(out), Some(10.42));
    }
}
