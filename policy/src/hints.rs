//! NetworkManager's view of an interface as plain values: its metered
//! verdict, its connectivity and its device type, decoded from the numbers
//! NetworkManager publishes on D-Bus and the words its dispatcher and nmcli
//! use. What they do to a role is decided in `evaluate`. No I/O here.

use std::fmt;
use std::str::FromStr;

use crate::types::InterfaceType;

/// NetworkManager's `NMMetered`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NmMetered {
    /// The profile says `connection.metered yes`.
    Yes,
    /// The profile says `connection.metered no`.
    No,
    /// NetworkManager guessed so (a DHCP lease with `ANDROID_METERED`,
    /// a mobile broadband device, ...).
    GuessYes,
    /// NetworkManager guessed not.
    GuessNo,
}

impl NmMetered {
    /// `NMMetered` as on D-Bus (`Device.Metered`); 0 (unknown) is `None`.
    pub fn from_nm(value: u32) -> Option<NmMetered> {
        match value {
            1 => Some(NmMetered::Yes),
            2 => Some(NmMetered::No),
            3 => Some(NmMetered::GuessYes),
            4 => Some(NmMetered::GuessNo),
            _ => None,
        }
    }

    /// `yes` and `guess-yes` mean metered.
    pub fn is_metered(self) -> bool {
        matches!(self, NmMetered::Yes | NmMetered::GuessYes)
    }

    /// nmcli's words: `yes`, `no`, `guess-yes`, `guess-no`.
    pub fn as_str(self) -> &'static str {
        match self {
            NmMetered::Yes => "yes",
            NmMetered::No => "no",
            NmMetered::GuessYes => "guess-yes",
            NmMetered::GuessNo => "guess-no",
        }
    }
}

impl fmt::Display for NmMetered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for NmMetered {
    type Err = String;

    /// nmcli's words, any case, `_` or `-` (`guess-yes`, `GUESS_YES`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "yes" => Ok(NmMetered::Yes),
            "no" => Ok(NmMetered::No),
            "guess-yes" => Ok(NmMetered::GuessYes),
            "guess-no" => Ok(NmMetered::GuessNo),
            _ => Err(format!(
                "unknown metered value {s:?} (expected yes, no, guess-yes or guess-no)"
            )),
        }
    }
}

/// NetworkManager's `NMConnectivityState` of a device (or the dispatcher's
/// `CONNECTIVITY_STATE`). Unknown is `None` where it is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Connectivity {
    /// No route to the internet.
    None,
    /// Behind a captive portal: the check answered something else.
    Portal,
    /// Connected, but the check's server is not reachable.
    Limited,
    /// The check succeeded.
    Full,
}

impl Connectivity {
    /// `NMConnectivityState` as on D-Bus; 0 (unknown) is `None`.
    pub fn from_nm(value: u32) -> Option<Connectivity> {
        match value {
            1 => Some(Connectivity::None),
            2 => Some(Connectivity::Portal),
            3 => Some(Connectivity::Limited),
            4 => Some(Connectivity::Full),
            _ => None,
        }
    }

    /// The better of a device's IPv4 and IPv6 connectivity: a link that
    /// reaches the internet over either family is usable.
    pub fn best(a: Option<Connectivity>, b: Option<Connectivity>) -> Option<Connectivity> {
        let rank = |c: Connectivity| match c {
            Connectivity::None => 0,
            Connectivity::Limited => 1,
            Connectivity::Portal => 2,
            Connectivity::Full => 3,
        };
        match (a, b) {
            (Some(x), Some(y)) => Some(if rank(x) >= rank(y) { x } else { y }),
            (x, y) => x.or(y),
        }
    }

    /// `none`, `limited` and `portal` keep MPTCP traffic off the link: a
    /// captive portal must not carry it.
    pub fn demotes(self) -> bool {
        self != Connectivity::Full
    }

    /// Lowercase word: `none`, `portal`, `limited`, `full`.
    pub fn as_str(self) -> &'static str {
        match self {
            Connectivity::None => "none",
            Connectivity::Portal => "portal",
            Connectivity::Limited => "limited",
            Connectivity::Full => "full",
        }
    }
}

impl fmt::Display for Connectivity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Connectivity {
    type Err = String;

    /// The dispatcher's `CONNECTIVITY_STATE` (`FULL`, `PORTAL`, ...), any
    /// case. `UNKNOWN` is an error here: callers treat it as no hint.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(Connectivity::None),
            "portal" => Ok(Connectivity::Portal),
            "limited" => Ok(Connectivity::Limited),
            "full" => Ok(Connectivity::Full),
            _ => Err(format!(
                "unknown connectivity state {s:?} (expected NONE, PORTAL, LIMITED or FULL)"
            )),
        }
    }
}

/// NetworkManager's `NMDeviceType` as an [`InterfaceType`]; `None` when it
/// says nothing (unknown, generic). veth, macvlan, vlan and the like are
/// reported as `Ethernet`, which `infer_type` treats as generic.
pub fn type_from_nm_device_type(value: u32) -> Option<InterfaceType> {
    Some(match value {
        1 | 11 | 18 | 20 | 21 => InterfaceType::Ethernet,
        2 | 30 => InterfaceType::Wifi,
        8 => InterfaceType::Cellular,
        13 | 26 => InterfaceType::Bridge,
        16 | 17 | 29 => InterfaceType::Vpn,
        5 | 6 | 7 | 9 | 10 | 12 | 15 | 19 | 22 | 23 | 24 | 25 | 27 | 28 | 31 | 33 => {
            InterfaceType::Other
        }
        _ => return None,
    })
}

/// nmcli's device type words (`GENERAL.TYPE`: `wifi`, `ethernet`, `gsm`,
/// ...) as an [`InterfaceType`]; `None` for `generic`, `unknown`, `loopback`
/// and words it does not know.
pub fn type_from_nm_name(name: &str) -> Option<InterfaceType> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "wifi" | "802-11-wireless" | "wifi-p2p" => InterfaceType::Wifi,
        "gsm" | "cdma" | "modem" | "wwan" => InterfaceType::Cellular,
        "ethernet" | "802-3-ethernet" | "veth" | "vlan" | "macvlan" | "macsec" => {
            InterfaceType::Ethernet
        }
        "bridge" | "ovs-bridge" => InterfaceType::Bridge,
        "wireguard" | "tun" | "ip-tunnel" | "vpn" => InterfaceType::Vpn,
        "bond" | "team" | "infiniband" | "bluetooth" | "vxlan" | "dummy" | "ppp" | "vrf" => {
            InterfaceType::Other
        }
        _ => return None,
    })
}

/// What NetworkManager says about one interface, as far as it is known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct InterfaceHints {
    /// `Device.Metered`.
    pub metered: Option<NmMetered>,
    /// The device's connectivity (best of IPv4 and IPv6); `None` when
    /// unknown or the device is not activated.
    pub connectivity: Option<Connectivity>,
}
