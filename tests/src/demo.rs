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

/// One log line for a panel `width` columns wide: wrapped at blanks into at
/// most `rows` rows (the later ones indented by two), the last row ending
/// in `…` at a word boundary when the line is longer still. Never cut in
/// the middle of a word unless a single word is wider than a row.
pub fn wrap_line(line: &str, width: usize, rows: usize) -> Vec<String> {
    let width = width.max(8);
    let mut out: Vec<String> = Vec::new();
    let mut words = line.split_whitespace().peekable();
    while words.peek().is_some() && out.len() < rows.max(1) {
        let indent = if out.is_empty() { "" } else { "  " };
        let room = width - indent.len();
        let last_row = out.len() + 1 == rows.max(1);
        let mut row = String::new();
        while let Some(w) = words.peek() {
            let need = if row.is_empty() { 0 } else { 1 } + w.chars().count();
            if row.chars().count() + need > room {
                break;
            }
            if !row.is_empty() {
                row.push(' ');
            }
            row.push_str(w);
            words.next();
        }
        if row.is_empty() {
            // One word wider than a row: the only place a word is cut.
            let w = words.next().unwrap_or_default();
            row = w.chars().take(room.saturating_sub(1)).collect();
            row.push('…');
        } else if last_row && words.peek().is_some() {
            // Make room for the ellipsis by dropping whole words.
            while row.chars().count() + 2 > room {
                match row.rfind(' ') {
                    Some(i) => row.truncate(i),
                    None => break,
                }
            }
            row.push_str(" …");
        }
        out.push(format!("{indent}{row}"));
    }
    out
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
    /// The README's cut→steady (≥ 10 KiB within 100 ms), counted from when
    /// data flows again after the gap: at the demo's rate the data already
    /// in flight at the cut alone would fill the window.
    pub steady_ms: Option<f64>,
    pub resumed_ms: f64,
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
        for l in self.lines(phases, dir, p) {
            println!("{l}");
        }
    }

    /// The summary's lines (see [`Summary::print`]).
    pub fn lines(&self, phases: &[&str], dir: &str, p: &Paint) -> Vec<String> {
        let s = self;
        let mut out = vec![String::new(), p.c("1", "summary")];
        let ms = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.1} ms"));
        out.push(format!(
            "  delivery gap after the WiFi cut : {}",
            p.c("1;32", &format!("{:.1} ms", s.gap_ms))
        ));
        out.push(format!(
            "  data flowing again on LTE      : cut + {:.1} ms",
            s.resumed_ms
        ));
        out.push(format!(
            "  cut → steady                   : {}  (≥ 10 KiB within 100 ms once data flows again)",
            ms(s.steady_ms)
        ));
        let us =
            |v: Option<u64>| v.map_or("n/a".to_string(), |v| format!("{:.2} ms", v as f64 / 1e3));
        out.push(format!(
            "  daemon reaction (reaction_us)  : WiFi down {}, WiFi up {}",
            us(s.reaction_down),
            us(s.reaction_up)
        ));
        out.push(match s.back_ms {
            Some(v) => format!("  back on WiFi after WiFi up     : ~{v} ms (200 ms samples)"),
            None => "  back on WiFi after WiFi up     : not seen".to_string(),
        });
        out.push(format!(
            "  bytes per path ({dir} the phone, interface counters):"
        ));
        for (i, (name, b)) in phases.iter().zip(&s.phase_bytes).enumerate() {
            out.push(format!(
                "    phase {} {:<11} wlan0 {:>9}   wwan0 {:>9}",
                i + 1,
                name,
                fmt_bytes(b[0]),
                fmt_bytes(b[1])
            ));
        }
        out.push(format!(
            "  stream total received: {}",
            fmt_bytes(s.received)
        ));
        if let Some(e) = &s.error {
            out.push(format!("  {}", p.c("31", &format!("stream problem: {e}"))));
        }
        out
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
    fn log_lines_wrap_at_words_and_end_in_an_ellipsis() {
        let l = "03:11:26.954 INFO reacted to: wlan0: up -> down reaction_us=14021 sent_us=310 first_delete_us=13900 sent=1 failed=0";
        let rows = wrap_line(l, 40, 2);
        assert_eq!(rows.len(), 2, "{rows:?}");
        for r in &rows {
            assert!(r.chars().count() <= 40, "{r:?}");
        }
        assert!(
            rows[1].starts_with("  ") && rows[1].ends_with(" …"),
            "{rows:?}"
        );
        // Every row is made of whole words of the line.
        let words: Vec<&str> = l.split_whitespace().collect();
        for w in rows.iter().flat_map(|r| r.split_whitespace()) {
            assert!(w == "…" || words.contains(&w), "{w:?} cut from {l:?}");
        }
        assert_eq!(wrap_line("short line", 40, 2), vec!["short line"]);
        let long = wrap_line(&"x".repeat(50), 20, 2);
        assert_eq!(long[0].chars().count(), 20);
        assert!(long[0].ends_with('…'));
    }

    #[test]
    fn the_summary_gives_one_cut_to_steady_figure() {
        let s = Summary {
            gap_ms: 40.0,
            steady_ms: Some(106.1),
            resumed_ms: 41.0,
            back_ms: Some(400),
            phase_bytes: vec![[1, 2]; 3],
            reaction_down: Some(14_000),
            reaction_up: Some(9_000),
            received: 10,
            error: None,
        };
        let lines = s.lines(&["a", "b", "c"], "sent from", &Paint(false));
        let steady: Vec<&String> = lines.iter().filter(|l| l.contains("steady")).collect();
        assert_eq!(steady.len(), 1, "{lines:#?}");
        assert!(steady[0].contains("cut → steady") && steady[0].contains("106.1 ms"));
        assert!(!lines
            .iter()
            .any(|l| l.contains("Record") || l.contains("in flight")));
    }

    #[test]
    fn bars() {
        assert_eq!(bar(0.0, 4), "····");
        assert_eq!(bar(1.0, 4), "████");
        assert_eq!(bar(0.5, 4), "██··");
        assert_eq!(bar(2.0, 2).chars().count(), 2);
    }
}
