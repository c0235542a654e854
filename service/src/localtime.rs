//! The local time zone, read straight from `/etc/localtime`.
//!
//! jiff's `TimeZone::system()` finds the same file, but first indexes the
//! whole zoneinfo tree (some 2,000 files in 20 directories) to look the
//! zone up by name: 1 ms measured before the first endpoints of a daemon
//! with a budget. Budgets need only the zone's rules, which jiff parses
//! here from the file itself; with `TZ` set, or without a readable
//! `/etc/localtime`, jiff decides as usual. Like jiff, the zone is kept for
//! a while (the engine asks at every wake-up while a budget is set).

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mptcp_policy::jiff::tz::TimeZone;
use mptcp_policy::jiff::{Timestamp, ZonedDateTime};

const LOCALTIME: &str = "/etc/localtime";

/// Now, in the local time zone.
pub fn now() -> ZonedDateTime {
    Timestamp::now().to_zoned_datetime(zone())
}

/// How long a zone read is used before the file is read again: a changed
/// zone counts within this (jiff's own cache keeps it 5 minutes).
const RECHECK: Duration = Duration::from_secs(60);

/// The local time zone.
pub fn zone() -> TimeZone {
    static LAST: Mutex<Option<(Instant, TimeZone)>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((at, tz)) = last.as_ref() {
        if at.elapsed() < RECHECK {
            return tz.clone();
        }
    }
    let tz = if std::env::var_os("TZ").is_some() {
        TimeZone::system()
    } else {
        zone_from(Path::new(LOCALTIME))
    };
    *last = Some((Instant::now(), tz.clone()));
    tz
}

/// The zone in TZif file `path` (a link into zoneinfo or a copy).
fn zone_from(path: &Path) -> TimeZone {
    let Ok(data) = std::fs::read(path) else {
        return TimeZone::system();
    };
    // The zone's name: the link's target below the last "zoneinfo/" (a
    // copied file, not a link, is just "Local").
    let name = std::fs::read_link(path).ok().and_then(|target| {
        let target = target.to_string_lossy().into_owned();
        target.rsplit_once("zoneinfo/").map(|(_, n)| n.to_string())
    });
    TimeZone::tzif(name.as_deref().unwrap_or("Local"), &data).unwrap_or_else(|_| TimeZone::system())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Berlin, linked the way Debian links /etc/localtime: the same name,
    /// offsets and civil times as jiff's own lookup, in summer and winter.
    #[test]
    fn a_linked_zone_has_its_name_and_rules() {
        let berlin = "/usr/share/zoneinfo/Europe/Berlin";
        assert!(
            Path::new(berlin).exists(),
            "{berlin} missing: tzdata is required"
        );
        let dir = std::env::temp_dir().join(format!("localtime-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let link = dir.join("localtime");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(berlin, &link).expect("symlink");
        let ours = zone_from(&link);
        let _ = std::fs::remove_dir_all(&dir);
        let jiffs = TimeZone::get("Europe/Berlin").expect("jiff finds Europe/Berlin");
        assert_eq!(ours.iana_name(), Some("Europe/Berlin"));
        for at in ["2026-07-01T12:00:00Z", "2026-12-01T12:00:00Z"] {
            let t: Timestamp = at.parse().expect("timestamp");
            let (a, b) = (
                t.to_zoned_datetime(ours.clone()),
                t.to_zoned_datetime(jiffs.clone()),
            );
            assert_eq!(a.offset(), b.offset(), "{at}");
            assert_eq!(a.datetime(), b.datetime(), "{at}");
        }
    }
}
