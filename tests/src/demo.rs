//! Parts of the live demo (`mptcp-demo`): a stop flag set by SIGINT/SIGTERM/
//! SIGHUP, in-place redraw, bars, ANSI stripping, WiFi back up with its
//! routes, and the end-of-run summary.

use crate::monotonic_us;
use crate::process::ip;
use crate::testbed::{Testbed, SERVER_V4};
use anyhow::{Context, Result};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_sig: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Make SIGINT, SIGTERM and SIGHUP only set a flag (see [`stop_requested`]),
/// so the caller can return normally and every guard's `Drop` cleans up.
pub fn install_stop_handler() -> anyhow::Result<()> {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: a zeroed sigaction is valid; the handler only stores to an
        // atomic, which is async-signal-safe.
        let rc = unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut())
        };
        if rc != 0 {
            anyhow::bail!("sigaction({sig}): {}", std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// True once SIGINT or SIGTERM arrived.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// Sleep `ms`, waking early (false) when a stop was requested.
pub fn sleep_unless_stopped(ms: u64) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_millis(ms);
    while std::time::Instant::now() < end {
        if stop_requested() {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    !stop_requested()
}

/// Redraws a block of lines in place; hides the cursor while alive and
/// shows it again on drop.
#[derive(Debug, Default)]
pub struct Screen {
    prev_lines: usize,
}

impl Screen {
    pub fn new() -> Self {
        print!("\x1b[?25l");
        let _ = std::io::stdout().flush();
        Self { prev_lines: 0 }
    }

    /// Replace the previous frame with `lines` (each cut to the terminal width).
    pub fn draw(&mut self, lines: &[String]) {
        let width = term_width();
        let mut out = String::new();
        if self.prev_lines > 0 {
            out.push_str(&format!("\x1b[{}F", self.prev_lines));
        }
        for l in lines {
            out.push_str(&truncate_visible(l, width.saturating_sub(1)));
            out.push_str("\x1b[0m\x1b[K\n");
        }
        out.push_str("\x1b[J");
        self.prev_lines = lines.len();
        let mut so = std::io::stdout().lock();
        let _ = so.write_all(out.as_bytes());
        let _ = so.flush();
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        print!("\x1b[0m\x1b[?25h");
        let _ = std::io::stdout().flush();
    }
}

/// Terminal width of stdout (80 when unknown).
pub fn term_width() -> usize {
    // SAFETY: TIOCGWINSZ fills a plain struct; failure leaves it zeroed.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) };
    if rc == 0 && ws.ws_col > 0 {
        ws.ws_col as usize
    } else {
        80
    }
}

/// Remove ANSI escape sequences (CSI `ESC [ … final`, and lone `ESC x`).
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\x1b' {
            out.push(c);
            continue;
        }
        if it.peek() == Some(&'[') {
            it.next();
            for c in it.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else {
            it.next();
        }
    }
    out
}

/// Cut `s` to `width` visible characters, keeping escape sequences intact.
pub fn truncate_visible(s: &str, width: usize) -> String {
    let mut out = String::with_capacity(s.len());
    let (mut seen, mut in_esc) = (0, false);
    for c in s.chars() {
        if c == '\x1b' {
            in_esc = true;
        }
        if in_esc {
            out.push(c);
            if ('@'..='~').contains(&c) && c != '[' {
                in_esc = false;
            }
            continue;
        }
        if seen >= width {
            continue;
        }
        out.push(c);
        seen += 1;
    }
    out
}

/// A bar of `width` cells filled to `frac` (0..=1), in eighths.
pub fn bar(frac: f64, width: usize) -> String {
    const PARTS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let eighths = (frac.clamp(0.0, 1.0) * (width * 8) as f64).round() as usize;
    let (full, part) = (eighths / 8, eighths % 8);
    let mut s = "█".repeat(full);
    if full < width {
        s.push(if part > 0 { PARTS[part] } else { '·' });
        s.push_str(&"·".repeat(width - full - 1));
    }
    s
}

/// Bytes/s as "12.3 MB/s" (decimal units).
pub fn fmt_rate(bps: f64) -> String {
    format!("{:5.1} MB/s", bps / 1e6)
}

/// Bytes as "12.3 MB" / "456 kB".
pub fn fmt_bytes(b: u64) -> String {
    if b >= 1_000_000 {
        format!("{:.1} MB", b as f64 / 1e6)
    } else {
        format!("{:.0} kB", b as f64 / 1e3)
    }
}

/// The last `n` non-empty lines of `text`, ANSI colours removed.
pub fn tail_lines(text: &str, n: usize) -> Vec<String> {
    let lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(strip_ansi)
        .collect();
    lines[lines.len().saturating_sub(n)..].to_vec()
}

/// `2026-01-02T03:04:05.678901Z  INFO x` → `03:04:05.678 INFO x` (tracing's
/// default timestamp shortened to the time of day); other lines unchanged.
pub fn short_time(line: &str) -> String {
    let b = line.as_bytes();
    if b.len() > 28 && b[10] == b'T' && b[4] == b'-' && b[26] == b'Z' {
        if let (Some(t), Some(rest)) = (line.get(11..23), line.get(27..)) {
            return format!("{t} {}", rest.trim_start());
        }
    }
    line.to_string()
}

/// Colour helper: `c(code, text)` unless --no-color.
#[derive(Debug, Clone, Copy)]
pub struct Paint(pub bool);
impl Paint {
    pub fn c(&self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

/// What the demo measured, printed at the end.
#[derive(Debug)]
pub struct Summary {
    pub gap_ms: f64,
    pub steady_ms: Option<f64>,
    pub resumed_ms: f64,
    pub steady_after_resume_ms: Option<f64>,
    pub back_ms: Option<u64>,
    pub phase_bytes: Vec<[u64; 2]>,
    pub reaction_down: Option<u64>,
    pub reaction_up: Option<u64>,
    pub received: u64,
    pub error: Option<String>,
}

impl Summary {
    /// Print the summary; `phases` names the phases, `dir` is "sent from" /
    /// "received by" (the phone).
    pub fn print(&self, phases: &[&str], dir: &str, p: &Paint) {
        let s = self;
        println!("\n{}", p.c("1", "summary"));
        let ms = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.1} ms"));
        println!(
            "  delivery gap after the WiFi cut : {}",
            p.c("1;32", &format!("{:.1} ms", s.gap_ms))
        );
        println!(
            "  cut → steady (Record)          : {}  (may count data in flight at the cut)",
            ms(s.steady_ms)
        );
        println!(
            "  data flowing again on LTE      : cut + {:.1} ms, steady at cut + {}",
            s.resumed_ms,
            ms(s.steady_after_resume_ms)
        );
        let us =
            |v: Option<u64>| v.map_or("n/a".to_string(), |v| format!("{:.2} ms", v as f64 / 1e3));
        println!(
            "  daemon reaction (reaction_us)  : WiFi down {}, WiFi up {}",
            us(s.reaction_down),
            us(s.reaction_up)
        );
        match s.back_ms {
            Some(v) => println!("  back on WiFi after WiFi up     : ~{v} ms (200 ms samples)"),
            None => println!("  back on WiFi after WiFi up     : not seen"),
        }
        println!("  bytes per path ({dir} the phone, interface counters):");
        for (i, (name, b)) in phases.iter().zip(&s.phase_bytes).enumerate() {
            println!(
                "    phase {} {:<11} wlan0 {:>9}   wwan0 {:>9}",
                i + 1,
                name,
                fmt_bytes(b[0]),
                fmt_bytes(b[1])
            );
        }
        println!("  stream total received: {}", fmt_bytes(s.received));
        if let Some(e) = &s.error {
            println!("  {}", p.c("31", &format!("stream problem: {e}")));
        }
    }
}

/// `ip link set wlan0 up` plus the testbed's routes over wlan0 in one `ip
/// -batch` (IPv4 drops a link's routes when it goes down; a WiFi client's
/// DHCP would restore them). Returns CLOCK_MONOTONIC µs after it returned.
pub fn wifi_up(tb: &Testbed) -> Result<u64> {
    let batch = tb.tmp_dir().join("wifi-up.batch");
    let gw = "10.1.0.1";
    std::fs::write(
        &batch,
        format!(
            "link set wlan0 up\n\
             route replace {SERVER_V4} via {gw} dev wlan0 metric 10\n\
             route replace default via {gw} dev wlan0 table 10\n"
        ),
    )
    .context("writing the wifi-up batch")?;
    ip(&["-n", tb.client_ns(), "-batch", &batch.display().to_string()])?;
    Ok(monotonic_us())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_and_truncates() {
        assert_eq!(strip_ansi("\x1b[32m INFO\x1b[0m x"), " INFO x");
        assert_eq!(
            truncate_visible("\x1b[1mabcdef\x1b[0m", 3),
            "\x1b[1mabc\x1b[0m"
        );
        assert_eq!(tail_lines("a\n\nb\nc\n", 2), vec!["b", "c"]);
        let l = "2026-11-28T03:11:26.954378Z  INFO wlan0: up -> down";
        assert_eq!(short_time(l), "03:11:26.954 INFO wlan0: up -> down");
        assert_eq!(short_time("plain"), "plain");
    }

    #[test]
    fn bars() {
        assert_eq!(bar(0.0, 4), "····");
        assert_eq!(bar(1.0, 4), "████");
        assert_eq!(bar(0.5, 4), "██··");
        assert_eq!(bar(2.0, 2).chars().count(), 2);
    }
}
