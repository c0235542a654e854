// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * mptcpify: turns TCP sockets created by processes of enabled cgroups into
 * MPTCP sockets, through the kernel's hook for exactly this (>= 6.6):
 *   int update_socket_protocol(int family, int type, int protocol)
 * runs in socket(2) before the socket exists; a fmod_ret program may return
 * another protocol. Which cgroups: the keys of the map `enabled_cgroups`
 * (cgroup v2 ids = inode numbers of the cgroup directories); a process in a
 * descendant of an enabled cgroup is converted too.
 *
 * Compiled by service/build.rs with clang -target bpf; loaded by the daemon
 * (service/src/bpf/loader.rs) with libbpf-rs.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOCK_TYPE_MASK 0xf /* type without SOCK_NONBLOCK / SOCK_CLOEXEC */
#define IPPROTO_TCP 6
#define IPPROTO_MPTCP 262

/* Deepest cgroup level looked at; systemd services sit at level 2-4. */
#define MAX_CGROUP_LEVELS 16

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);   /* cgroup v2 id */
	__type(value, __u8);  /* 1 = enabled */
} enabled_cgroups SEC(".maps");

static __always_inline int in_enabled_cgroup(void)
{
	__u64 id = bpf_get_current_cgroup_id();

	if (bpf_map_lookup_elem(&enabled_cgroups, &id))
		return 1;
	/* Ancestors from the root down; 0 means "deeper than the task". */
	for (int level = 0; level < MAX_CGROUP_LEVELS; level++) {
		id = bpf_get_current_ancestor_cgroup_id(level);
		if (!id)
			break;
		if (bpf_map_lookup_elem(&enabled_cgroups, &id))
			return 1;
	}
	return 0;
}

SEC("fmod_ret/update_socket_protocol")
int BPF_PROG(mptcpify, int family, int type, int protocol)
{
	if ((family == AF_INET || family == AF_INET6) &&
	    (type & SOCK_TYPE_MASK) == SOCK_STREAM &&
	    (protocol == 0 || protocol == IPPROTO_TCP) &&
	    in_enabled_cgroup())
		return IPPROTO_MPTCP;
	return protocol;
}
