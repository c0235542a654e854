//! The BPF object compiled at build time from `mptcpify.bpf.c`.

/// The ELF object (clang `-target bpf`, with BTF).
pub const OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/mptcpify.bpf.o"));
/// The program's ELF section: program type and attach point for libbpf.
pub const PROGRAM_SECTION: &str = "fmod_ret/update_socket_protocol";
/// The program's name (its C function).
#[cfg(test)]
pub const PROGRAM_NAME: &str = "mptcpify";
/// The kernel function it attaches to.
pub const HOOK: &str = "update_socket_protocol";
/// Hash map: cgroup v2 id (u64) -> 1 (u8).
pub const MAP_NAME: &str = "enabled_cgroups";
/// Entries the map holds (`max_entries` in the C source).
pub const MAP_CAPACITY: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;
    use libbpf_rs::{AsRawLibbpf, MapType, ObjectBuilder, ProgramType};

    /// Everything up to the load: libbpf opens the embedded object (parses
    /// ELF, BTF, maps and programs) without touching the kernel.
    #[test]
    fn object_has_the_fmod_ret_program_and_the_cgroup_map() {
        let open = ObjectBuilder::default()
            .open_memory(OBJECT)
            .expect("libbpf opens the object");
        let progs: Vec<_> = open.progs().collect();
        assert_eq!(progs.len(), 1, "one program");
        let prog = &progs[0];
        assert_eq!(prog.section().to_str(), Some(PROGRAM_SECTION));
        assert_eq!(prog.name().to_str(), Some(PROGRAM_NAME));
        assert_eq!(prog.prog_type(), ProgramType::Tracing);
        // libbpf derives the expected attach type from the section name;
        // the open program only exposes it through libbpf itself.
        let attach = unsafe {
            // SAFETY: a valid program of the open object.
            libbpf_rs::libbpf_sys::bpf_program__expected_attach_type(
                prog.as_libbpf_object().as_ptr(),
            )
        };
        assert_eq!(attach, libbpf_rs::libbpf_sys::BPF_MODIFY_RETURN);

        let maps: Vec<_> = open.maps().collect();
        let map = maps
            .iter()
            .find(|m| m.name().to_str() == Some(MAP_NAME))
            .expect("enabled_cgroups map");
        assert_eq!(map.map_type(), MapType::Hash);
        assert_eq!(map.key_size(), 8, "cgroup id is a u64");
        assert_eq!(map.value_size(), 1);
        assert_eq!(map.max_entries() as usize, MAP_CAPACITY);
        // No other maps: no .bss/.data/.rodata the loader would have to fill.
        assert_eq!(
            maps.len(),
            1,
            "{:?}",
            maps.iter().map(|m| m.name()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn object_is_gpl_and_carries_btf() {
        // The helpers used need a GPL-compatible license; libbpf needs BTF
        // for the BTF-defined map. Read the ELF sections by name.
        let names = elf_section_names(OBJECT);
        for want in ["license", ".maps", ".BTF", PROGRAM_SECTION] {
            assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
        }
        let at = OBJECT.windows(4).position(|w| w == b"GPL\0");
        assert!(at.is_some(), "license string");
    }

    /// Section names of a little-endian ELF64 file (enough for the check).
    fn elf_section_names(elf: &[u8]) -> Vec<String> {
        let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
        let u32_at =
            |o: usize| u32::from_le_bytes(elf[o..o + 4].try_into().expect("4 bytes")) as usize;
        let u64_at =
            |o: usize| u64::from_le_bytes(elf[o..o + 8].try_into().expect("8 bytes")) as usize;
        assert_eq!(&elf[..4], b"\x7fELF");
        let shoff = u64_at(0x28);
        let shentsize = u16_at(0x3a);
        let shnum = u16_at(0x3c);
        let shstrndx = u16_at(0x3e);
        let strtab = u64_at(shoff + shstrndx * shentsize + 0x18);
        (0..shnum)
            .map(|i| {
                let name = strtab + u32_at(shoff + i * shentsize);
                let end = elf[name..].iter().position(|&b| b == 0).expect("NUL") + name;
                String::from_utf8_lossy(&elf[name..end]).into_owned()
            })
            .collect()
    }
}
