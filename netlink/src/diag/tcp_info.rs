//! Defensive decoding of `struct tcp_info` (`include/uapi/linux/tcp.h`) as
//! carried by `INET_DIAG_INFO`.
//!
//! The struct grew over kernel versions (2.6: 104 bytes; `bytes_acked` /
//! `bytes_received` since 4.1, `bytes_sent` since 4.19, 232 bytes in 6.1,
//! more since) and the kernel sends `min(sizeof, what it has)`. A field is
//! read only when it lies completely inside the bytes received; anything
//! else stays 0 and [`TcpInfo::len`] tells how much was there. Never panics.

/// Byte offsets of the fields we read (checked against the C header by
/// `offsets_match_the_uapi_header` where a C compiler is around; the layout is
/// ABI and never changes, fields are only appended).
mod off {
    pub const STATE: usize = 0;
    pub const RETRANSMITS: usize = 2;
    pub const BACKOFF: usize = 4;
    pub const RTO: usize = 8;
    pub const UNACKED: usize = 24;
    pub const LAST_DATA_SENT: usize = 44;
    pub const LAST_DATA_RECV: usize = 52;
    pub const LAST_ACK_RECV: usize = 56;
    pub const RTT: usize = 68;
    pub const RTTVAR: usize = 72;
    pub const RCV_RTT: usize = 92;
    pub const TOTAL_RETRANS: usize = 100;
    pub const BYTES_ACKED: usize = 120;
    pub const BYTES_RECEIVED: usize = 128;
    pub const MIN_RTT: usize = 148;
    pub const DATA_SEGS_IN: usize = 152;
    pub const DATA_SEGS_OUT: usize = 156;
    pub const BYTES_SENT: usize = 200;
    pub const RCV_OOOPACK: usize = 224;
}

/// The `tcp_info` fields the daemon uses. Times are in the kernel's units:
/// `*_ms` milliseconds (4 ms steps at HZ=250), `*_us` microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpInfo {
    /// How many bytes of `tcp_info` the kernel sent (0: attribute absent).
    pub len: usize,
    pub state: u8,
    pub retransmits: u8,
    pub backoff: u8,
    pub rto_us: u32,
    pub unacked: u32,
    pub last_data_sent_ms: u32,
    pub last_data_recv_ms: u32,
    pub last_ack_recv_ms: u32,
    pub rtt_us: u32,
    pub rttvar_us: u32,
    /// Receiver's RTT estimate (`tcpi_rcv_rtt`), µs: known on a path that
    /// only receives.
    pub rcv_rtt_us: u32,
    pub total_retrans: u32,
    pub bytes_acked: u64,
    pub bytes_received: u64,
    /// Lowest RTT seen over the connection's life (`tcpi_min_rtt`), µs.
    pub min_rtt_us: u32,
    /// Data segments received / sent, retransmissions included (4.6+).
    pub data_segs_in: u32,
    pub data_segs_out: u32,
    pub bytes_sent: u64,
    /// Packets that arrived out of order (`tcpi_rcv_ooopack`, 5.4+): data
    /// lost on the way in leaves a hole the next packets queue behind.
    pub rcv_ooopack: u32,
}

fn u8_at(b: &[u8], off: usize) -> u8 {
    b.get(off).copied().unwrap_or(0)
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    off.checked_add(4)
        .and_then(|end| b.get(off..end))
        .and_then(|s| s.try_into().ok())
        .map(u32::from_ne_bytes)
        .unwrap_or(0)
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    off.checked_add(8)
        .and_then(|end| b.get(off..end))
        .and_then(|s| s.try_into().ok())
        .map(u64::from_ne_bytes)
        .unwrap_or(0)
}

impl TcpInfo {
    /// Decodes the payload of `INET_DIAG_INFO` (host byte order); fields not
    /// (entirely) inside `b` are 0.
    pub fn parse(b: &[u8]) -> Self {
        Self {
            len: b.len(),
            state: u8_at(b, off::STATE),
            retransmits: u8_at(b, off::RETRANSMITS),
            backoff: u8_at(b, off::BACKOFF),
            rto_us: u32_at(b, off::RTO),
            unacked: u32_at(b, off::UNACKED),
            last_data_sent_ms: u32_at(b, off::LAST_DATA_SENT),
            last_data_recv_ms: u32_at(b, off::LAST_DATA_RECV),
            last_ack_recv_ms: u32_at(b, off::LAST_ACK_RECV),
            rtt_us: u32_at(b, off::RTT),
            rttvar_us: u32_at(b, off::RTTVAR),
            rcv_rtt_us: u32_at(b, off::RCV_RTT),
            total_retrans: u32_at(b, off::TOTAL_RETRANS),
            bytes_acked: u64_at(b, off::BYTES_ACKED),
            bytes_received: u64_at(b, off::BYTES_RECEIVED),
            min_rtt_us: u32_at(b, off::MIN_RTT),
            data_segs_in: u32_at(b, off::DATA_SEGS_IN),
            data_segs_out: u32_at(b, off::DATA_SEGS_OUT),
            bytes_sent: u64_at(b, off::BYTES_SENT),
            rcv_ooopack: u32_at(b, off::RCV_OOOPACK),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 232-byte (6.1 layout) tcp_info with distinct values in our fields.
    fn full() -> Vec<u8> {
        let mut b = vec![0u8; 232];
        b[off::STATE] = 1;
        b[off::RETRANSMITS] = 3;
        b[off::BACKOFF] = 2;
        let put32 = |b: &mut Vec<u8>, o: usize, v: u32| {
            b[o..o + 4].copy_from_slice(&v.to_ne_bytes());
        };
        put32(&mut b, off::RTO, 204_000);
        put32(&mut b, off::UNACKED, 7);
        put32(&mut b, off::LAST_DATA_SENT, 8);
        put32(&mut b, off::LAST_DATA_RECV, 12);
        put32(&mut b, off::LAST_ACK_RECV, 16);
        put32(&mut b, off::RTT, 10_250);
        put32(&mut b, off::RTTVAR, 1_500);
        put32(&mut b, off::TOTAL_RETRANS, 9);
        put32(&mut b, off::RCV_RTT, 11_000);
        put32(&mut b, off::MIN_RTT, 9_800);
        put32(&mut b, off::DATA_SEGS_IN, 700);
        put32(&mut b, off::DATA_SEGS_OUT, 71);
        put32(&mut b, off::RCV_OOOPACK, 13);
        let put64 = |b: &mut Vec<u8>, o: usize, v: u64| {
            b[o..o + 8].copy_from_slice(&v.to_ne_bytes());
        };
        put64(&mut b, off::BYTES_ACKED, 100_001);
        put64(&mut b, off::BYTES_RECEIVED, 5_000_000_000);
        put64(&mut b, off::BYTES_SENT, 100_501);
        b
    }

    #[test]
    fn full_struct() {
        let t = TcpInfo::parse(&full());
        assert_eq!(
            t,
            TcpInfo {
                len: 232,
                state: 1,
                retransmits: 3,
                backoff: 2,
                rto_us: 204_000,
                unacked: 7,
                last_data_sent_ms: 8,
                last_data_recv_ms: 12,
                last_ack_recv_ms: 16,
                rtt_us: 10_250,
                rttvar_us: 1_500,
                rcv_rtt_us: 11_000,
                total_retrans: 9,
                bytes_acked: 100_001,
                bytes_received: 5_000_000_000,
                min_rtt_us: 9_800,
                data_segs_in: 700,
                data_segs_out: 71,
                bytes_sent: 100_501,
                rcv_ooopack: 13,
            }
        );
        // a longer (newer kernel) struct reads the same
        let mut longer = full();
        longer.extend_from_slice(&[0xff; 64]);
        assert_eq!(TcpInfo::parse(&longer), TcpInfo { len: 296, ..t });
    }

    #[test]
    fn every_truncation_is_safe_and_drops_only_cut_fields() {
        let b = full();
        let t = TcpInfo::parse(&b);
        for n in 0..=b.len() {
            let s = TcpInfo::parse(&b[..n]);
            assert_eq!(s.len, n);
            // a field is either its full value or 0, and full exactly when it fits
            let check32 = |got: u32, want: u32, o: usize| {
                assert_eq!(got, if o + 4 <= n { want } else { 0 }, "len {n} off {o}");
            };
            check32(s.unacked, t.unacked, off::UNACKED);
            check32(s.last_ack_recv_ms, t.last_ack_recv_ms, off::LAST_ACK_RECV);
            check32(s.rtt_us, t.rtt_us, off::RTT);
            let check64 = |got: u64, want: u64, o: usize| {
                assert_eq!(got, if o + 8 <= n { want } else { 0 }, "len {n} off {o}");
            };
            check64(s.bytes_acked, t.bytes_acked, off::BYTES_ACKED);
            check64(s.bytes_received, t.bytes_received, off::BYTES_RECEIVED);
            check64(s.bytes_sent, t.bytes_sent, off::BYTES_SENT);
        }
    }

    #[test]
    fn historic_sizes() {
        let b = full();
        // 2.6-era struct (up to total_retrans): no byte counters
        let old = TcpInfo::parse(&b[..104]);
        assert_eq!(old.rtt_us, 10_250);
        assert_eq!(old.total_retrans, 9);
        assert_eq!(
            (old.bytes_acked, old.bytes_received, old.bytes_sent),
            (0, 0, 0)
        );
        // 4.1..4.18 (up to segs_in etc.): acked/received but no bytes_sent
        let mid = TcpInfo::parse(&b[..192]);
        assert_eq!(mid.bytes_acked, 100_001);
        assert_eq!(mid.bytes_received, 5_000_000_000);
        assert_eq!(mid.bytes_sent, 0);
        // empty and one-byte payloads
        assert_eq!(TcpInfo::parse(&[]), TcpInfo::default());
        assert_eq!(TcpInfo::parse(&[1]).state, 1);
    }

    /// Our offsets against `offsetof` from the installed uapi header, when gcc
    /// and the header are there (skipped otherwise: the layout is ABI).
    #[test]
    fn offsets_match_the_uapi_header() {
        let dir = std::env::temp_dir().join(format!("tcpinfo-off-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let src = dir.join("off.c");
        let fields = [
            ("tcpi_state", off::STATE),
            ("tcpi_retransmits", off::RETRANSMITS),
            ("tcpi_backoff", off::BACKOFF),
            ("tcpi_rto", off::RTO),
            ("tcpi_unacked", off::UNACKED),
            ("tcpi_last_data_sent", off::LAST_DATA_SENT),
            ("tcpi_last_data_recv", off::LAST_DATA_RECV),
            ("tcpi_last_ack_recv", off::LAST_ACK_RECV),
            ("tcpi_rtt", off::RTT),
            ("tcpi_rttvar", off::RTTVAR),
            ("tcpi_total_retrans", off::TOTAL_RETRANS),
            ("tcpi_bytes_acked", off::BYTES_ACKED),
            ("tcpi_bytes_received", off::BYTES_RECEIVED),
            ("tcpi_bytes_sent", off::BYTES_SENT),
            ("tcpi_rcv_rtt", off::RCV_RTT),
            ("tcpi_min_rtt", off::MIN_RTT),
            ("tcpi_data_segs_in", off::DATA_SEGS_IN),
            ("tcpi_data_segs_out", off::DATA_SEGS_OUT),
            ("tcpi_rcv_ooopack", off::RCV_OOOPACK),
        ];
        let mut c = String::from(
            "#include <stdio.h>\n#include <stddef.h>\n#include <linux/tcp.h>\nint main(void){\n",
        );
        for (f, _) in &fields {
            c.push_str(&format!(
                "printf(\"%zu\\n\", offsetof(struct tcp_info, {f}));\n"
            ));
        }
        c.push_str("return 0;}\n");
        std::fs::write(&src, c).expect("write off.c");
        let bin = dir.join("off");
        let built = std::process::Command::new("cc")
            .arg(&src)
            .arg("-o")
            .arg(&bin)
            .output();
        match built {
            Ok(o) if o.status.success() => {}
            _ => {
                eprintln!("no C compiler or <linux/tcp.h>: offsets not cross-checked");
                let _ = std::fs::remove_dir_all(&dir);
                return;
            }
        }
        let out = std::process::Command::new(&bin).output().expect("run off");
        let _ = std::fs::remove_dir_all(&dir);
        let got: Vec<usize> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.trim().parse().expect("offset"))
            .collect();
        let want: Vec<usize> = fields.iter().map(|(_, o)| *o).collect();
        assert_eq!(got, want, "fields {:?}", fields.map(|(f, _)| f));
    }
}
