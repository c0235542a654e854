//! NetworkManager's hints in `evaluate`: metered (`yes`/`guess-yes` →
//! metered and at most backup unless the entry says `metered`),
//! connectivity (`none`/`limited`/`portal` → backup until `full`), the
//! device type over sysfs/name (unless generic ethernet/veth), and the
//! decoding of NetworkManager's numbers and words.

mod common;

use common::{fixed_now, iface, observed, policy};
use mptcp_policy::{
    evaluate, infer_type, type_from_nm_device_type, type_from_nm_name, Connectivity as C,
    InterfaceHints, InterfaceType as T, NmMetered as M, Role, TypeHints, TypeSource as S,
};

const PREFERRED: &str = "[[interface]]\nname = \"eth*\"\nrole = \"preferred\"\n";
const PREFERRED_METERED: &str =
    "[[interface]]\nname = \"eth*\"\nrole = \"preferred\"\nmetered = true\n";
const PREFERRED_UNMETERED: &str =
    "[[interface]]\nname = \"eth*\"\nrole = \"preferred\"\nmetered = false\n";
const BACKUP: &str = "[[interface]]\nname = \"eth*\"\nrole = \"backup\"\n";
const OFF: &str = "[[interface]]\nname = \"eth*\"\nrole = \"off\"\n";
const NOTHING: &str = "[[interface]]\nname = \"wl*\"\nrole = \"preferred\"\n";

/// (policy, metered hint, connectivity hint) → (role, metered, endpoint
/// flags, text the reason must contain).
#[test]
fn hints_lower_roles_table() {
    #[allow(clippy::type_complexity)]
    #[rustfmt::skip]
    let cases: &[(&str, Option<M>, Option<C>, Role, bool, Option<&str>, &str)] = &[
        // no hint: the entry decides
        (PREFERRED, None, None, Role::Preferred, false, Some("subflow"), "matched [[interface]] #1"),
        // metered yes / guess-yes: metered, at most backup
        (PREFERRED, Some(M::Yes), None, Role::Backup, true, Some("subflow backup"), "NetworkManager says metered (yes): demoted to backup"),
        (PREFERRED, Some(M::GuessYes), None, Role::Backup, true, Some("subflow backup"), "NetworkManager says metered (guess-yes)"),
        (PREFERRED, Some(M::No), None, Role::Preferred, false, Some("subflow"), "matched"),
        (PREFERRED, Some(M::GuessNo), None, Role::Preferred, false, Some("subflow"), "matched"),
        (BACKUP, Some(M::Yes), None, Role::Backup, true, Some("subflow backup"), "matched"),
        (OFF, Some(M::GuessYes), None, Role::Off, true, None, "matched"),
        // the user's word wins over the hint
        (PREFERRED_METERED, Some(M::No), None, Role::Preferred, true, Some("subflow"), "matched"),
        (PREFERRED_METERED, None, None, Role::Preferred, true, Some("subflow"), "matched"),
        (PREFERRED_UNMETERED, Some(M::Yes), None, Role::Preferred, false, Some("subflow"), "matched"),
        (PREFERRED_UNMETERED, Some(M::GuessYes), None, Role::Preferred, false, Some("subflow"), "matched"),
        // connectivity: anything but full demotes to backup
        (PREFERRED, None, Some(C::Portal), Role::Backup, false, Some("subflow backup"), "NetworkManager connectivity portal: demoted to backup until full"),
        (PREFERRED, None, Some(C::Limited), Role::Backup, false, Some("subflow backup"), "connectivity limited"),
        (PREFERRED, None, Some(C::None), Role::Backup, false, Some("subflow backup"), "connectivity none"),
        (PREFERRED, None, Some(C::Full), Role::Preferred, false, Some("subflow"), "matched"),
        (PREFERRED_UNMETERED, None, Some(C::Portal), Role::Backup, false, Some("subflow backup"), "connectivity portal"),
        // never raised
        (BACKUP, None, Some(C::Portal), Role::Backup, false, Some("subflow backup"), "matched"),
        (OFF, None, Some(C::Full), Role::Off, false, None, "matched"),
        // unmatched interfaces stay off; metered still shows
        (NOTHING, Some(M::Yes), Some(C::Portal), Role::Off, true, None, "left alone"),
        // both
        (PREFERRED, Some(M::GuessYes), Some(C::Portal), Role::Backup, true, Some("subflow backup"), "metered (guess-yes)"),
    ];
    for (i, (text, metered, connectivity, role, is_metered, flags, reason)) in
        cases.iter().enumerate()
    {
        let p = policy(text);
        let mut eth = iface(2, "eth0", T::Ethernet, true, &["10.0.0.2/24"]);
        eth.hints = InterfaceHints {
            metered: *metered,
            connectivity: *connectivity,
        };
        let d = evaluate(&p, &observed(vec![eth]), &fixed_now());
        let v = &d.interfaces[0];
        assert_eq!(v.role, *role, "case {i}: {}", v.reason);
        assert_eq!(v.metered, *is_metered, "case {i}");
        assert!(v.reason.contains(reason), "case {i}: {:?}", v.reason);
        let got = d.endpoints.first().map(|e| e.flags.to_string());
        assert_eq!(got.as_deref(), *flags, "case {i}");
    }
}

/// A backup entry may be promoted by a `[[rule]]` unless a hint caps it
/// (NetworkManager says metered and the entry does not, or connectivity is
/// not full); a preferred or off entry is never "promotable".
#[test]
fn hints_bound_what_a_rule_may_promote() {
    const BACKUP_METERED: &str =
        "[[interface]]\nname = \"eth*\"\nrole = \"backup\"\nmetered = true\n";
    #[rustfmt::skip]
    let cases: &[(&str, Option<M>, Option<C>, bool)] = &[
        (BACKUP, None, None, true),
        (BACKUP, Some(M::No), Some(C::Full), true),
        (BACKUP, Some(M::Yes), None, false),
        (BACKUP_METERED, Some(M::Yes), None, true),
        (BACKUP, None, Some(C::Portal), false),
        (BACKUP_METERED, None, Some(C::None), false),
        (PREFERRED, None, Some(C::Portal), false),
        (PREFERRED, None, None, false),
        (OFF, None, None, false),
    ];
    for (i, (text, metered, connectivity, promotable)) in cases.iter().enumerate() {
        let mut eth = iface(2, "eth0", T::Ethernet, true, &["10.0.0.2/24"]);
        eth.hints = InterfaceHints {
            metered: *metered,
            connectivity: *connectivity,
        };
        let d = evaluate(&policy(text), &observed(vec![eth]), &fixed_now());
        assert_eq!(
            d.interfaces[0].promotable, *promotable,
            "case {i}: {:?}",
            d.interfaces[0]
        );
    }
}

/// NetworkManager's type overrides sysfs and the name, unless it only says
/// generic ethernet (veth, USB tethering): then sysfs and the name decide.
#[test]
fn nm_type_over_sysfs_and_name_table() {
    let p = policy(NOTHING);
    let h = |nm: Option<u32>, devtype: Option<&str>| TypeHints {
        nm_type: nm.and_then(type_from_nm_device_type),
        sysfs_devtype: devtype.map(str::to_owned),
        sysfs_wireless: false,
    };
    #[rustfmt::skip]
    let table: &[(&str, TypeHints, (T, S))] = &[
        ("eth0", h(Some(2), None), (T::Wifi, S::NetworkManager)),          // NM wifi over the name
        ("wlan0", h(Some(8), Some("wlan")), (T::Cellular, S::NetworkManager)), // NM modem over sysfs
        ("veth7", h(Some(13), None), (T::Bridge, S::NetworkManager)),
        ("wg0", h(Some(29), None), (T::Vpn, S::NetworkManager)),
        ("wlan0", h(Some(20), None), (T::Wifi, S::Name)),                  // veth: generic, name decides
        ("wwan0", h(Some(1), Some("wwan")), (T::Cellular, S::Sysfs)),      // ethernet: generic, sysfs decides
        ("usb0", h(Some(1), None), (T::Ethernet, S::NetworkManager)),      // nothing else: ethernet
        ("usb0", h(Some(14), None), (T::Unknown, S::None)),                // NM generic says nothing
        ("usb0", h(Some(0), None), (T::Unknown, S::None)),
        ("eth0", h(None, None), (T::Ethernet, S::Name)),
    ];
    for (name, hints, want) in table {
        assert_eq!(infer_type(&p, name, hints), *want, "{name} {hints:?}");
    }
    // explicit config still wins over NetworkManager
    let p = policy("[interface_types]\n\"eth0\" = \"cellular\"\n");
    assert_eq!(
        infer_type(&p, "eth0", &h(Some(2), None)),
        (T::Cellular, S::Config)
    );
}

#[test]
fn decoding_nm_numbers_and_words() {
    for (n, want) in [
        (0, None),
        (1, Some(M::Yes)),
        (2, Some(M::No)),
        (3, Some(M::GuessYes)),
        (4, Some(M::GuessNo)),
        (5, None),
    ] {
        assert_eq!(M::from_nm(n), want, "NMMetered {n}");
    }
    for (n, want) in [
        (0, None),
        (1, Some(C::None)),
        (2, Some(C::Portal)),
        (3, Some(C::Limited)),
        (4, Some(C::Full)),
        (9, None),
    ] {
        assert_eq!(C::from_nm(n), want, "NMConnectivityState {n}");
    }
    for (word, want) in [
        ("FULL", Ok(C::Full)),
        ("PORTAL", Ok(C::Portal)),
        ("limited", Ok(C::Limited)),
        ("NONE", Ok(C::None)),
    ] {
        assert_eq!(word.parse::<C>(), want, "{word}");
    }
    for bad in ["UNKNOWN", "", "FULL ", "portalx"] {
        let e = bad.parse::<C>().expect_err(bad);
        assert!(e.contains("unknown connectivity state"), "{e}");
    }
    assert_eq!("guess-yes".parse::<M>(), Ok(M::GuessYes));
    assert_eq!("GUESS_NO".parse::<M>(), Ok(M::GuessNo));
    assert!("maybe".parse::<M>().is_err());
    for (word, want) in [
        ("wifi", Some(T::Wifi)),
        ("gsm", Some(T::Cellular)),
        ("ethernet", Some(T::Ethernet)),
        ("bridge", Some(T::Bridge)),
        ("wireguard", Some(T::Vpn)),
        ("bond", Some(T::Other)),
        ("generic", None),
        ("loopback", None),
        ("", None),
    ] {
        assert_eq!(type_from_nm_name(word), want, "{word}");
    }
    // the better family wins: a link reaching the internet over IPv6 only is usable
    #[rustfmt::skip]
    let best: &[(Option<C>, Option<C>, Option<C>)] = &[
        (Some(C::Full), Some(C::None), Some(C::Full)),
        (Some(C::None), Some(C::Full), Some(C::Full)),
        (Some(C::Portal), Some(C::Limited), Some(C::Portal)),
        (Some(C::Limited), Some(C::None), Some(C::Limited)),
        (None, Some(C::Portal), Some(C::Portal)),
        (None, None, None),
    ];
    for (a, b, want) in best {
        assert_eq!(C::best(*a, *b), *want, "{a:?} {b:?}");
    }
}
