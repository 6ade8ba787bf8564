"""The seccomp filter every sandbox runs under: bwrap installs :func:`program` with ``--seccomp FD``.

bwrap reads a raw classic-BPF program (an array of ``struct sock_filter``, 8 bytes each) from the fd and
installs it with ``PR_SET_SECCOMP`` right before it execs the sandboxed command (it sets ``no_new_privs``
first), so bwrap's own mounts are not filtered, and every process of the sandbox inherits the filter.

It is a deny list, in the spirit of Docker's and Flatpak's default profiles: the syscalls below are never
needed by a job, most already fail without capabilities (the sandbox has none), and each one widens the
kernel attack surface a tenant can reach (kernel keyrings, eBPF, perf, io_uring, userfaultfd and the mount
API all have a history of local privilege escalations). They fail with ``EPERM``; everything else is allowed
(a syscall newer than these tables is allowed too: this is a second wall behind namespaces and dropped
capabilities, not an allow list).

Decisions on the debatable ones:

- ``ptrace``, ``process_vm_readv``/``writev`` (and ``pidfd_getfd``) stay allowed, as in Docker's profile on
  kernels >= 4.8 (which re-check seccomp after a tracer changes a syscall, so ptrace cannot bypass the
  filter): a sandbox can only reach processes of its own PID namespace, with its own uid and no
  capabilities, so it crosses no wall; and debuggers and profilers (gdb, strace, py-spy) need them.
  ``kcmp`` (only CRIU uses it) is denied.
- ``personality`` is allowed only for the values Docker allows (``PER_LINUX``, ``PER_LINUX32``,
  ``UNAME26`` and their combination, and ``0xffffffff`` which only queries): setting
  ``ADDR_NO_RANDOMIZE``, ``READ_IMPLIES_EXEC`` and other execution domains fails.
- ``clone`` with a namespace flag (``CLONE_NEWNS``, ``NEWUTS``, ``NEWIPC``, ``NEWUSER``, ``NEWPID``,
  ``NEWNET``, ``NEWCGROUP``) fails, like ``unshare`` and ``setns`` (which fail whatever their flags).
  ``clone3`` stays allowed (glibc >= 2.34 creates threads and processes with it) and seccomp cannot look
  into its ``struct clone_args``: a namespace requested through ``clone3`` is still refused by the walls
  behind this one (no capabilities, and ``--disable-userns`` for a nested user namespace).
- ``ioctl(TIOCSTI)`` and ``ioctl(TIOCLINUX)`` fail (Flatpak's CVE-2017-5226 and CVE-2023-28100: typing
  into a terminal someone else reads). ``ioctl``'s request, ``personality``'s argument and ``clone``'s flags
  are 32-bit in the kernel, so only the low 32 bits of those arguments are compared (comparing all 64 bits
  was Flatpak's CVE-2019-10063: a set high bit passed the filter and was then ignored by the kernel).

Architectures: x86_64 and aarch64, each with its own syscall numbers and ``AUDIT_ARCH`` value. A syscall
made with another ABI (i386 through ``int 0x80`` on x86_64, or an aarch64 kernel's 32-bit compat mode)
kills the process (``SECCOMP_RET_KILL_PROCESS``): its numbers would mean other syscalls. The x32 ABI on
x86_64 shares the ``AUDIT_ARCH`` value but sets bit 30 of the number: it fails with ``EPERM``.
:func:`program` raises :class:`UnsupportedArchitecture` for any other machine rather than returning an
empty filter: the sandbox fails closed, and a platform on another architecture must add its table first.

Layout of the program (``k`` is a constant, jumps are forward and relative)::

    ld  [4]                      ; seccomp_data.arch
    jeq AUDIT_ARCH, +1           ; else fall through to
    ret KILL_PROCESS
    ld  [0]                      ; seccomp_data.nr
    jge 0x40000000, eperm        ; x86_64 only: the x32 ABI
    jeq NR_clone, clone          ; syscalls whose arguments decide
    jeq NR_personality, personality
    jeq NR_ioctl, ioctl
    jeq NR_<denied>, eperm       ; one per denied syscall
    ...
    ret ALLOW
  clone:        ld [16] ; jset NAMESPACE_FLAGS, eperm, allow
  personality:  ld [16] ; jeq <each allowed value>, allow ; ... ; ret EPERM
  ioctl:        ld [24] ; jeq TIOCSTI, eperm ; jeq TIOCLINUX, eperm ; ret ALLOW
  allow:        ret ALLOW
  eperm:        ret ERRNO(EPERM)

Every jump offset is checked to fit BPF's 8 bits (the deny list is ~60 entries, far from 255). Since Linux
5.11 the kernel caches "always allowed" per syscall number for a filter like this one (the result of every
syscall but ``clone``, ``personality`` and ``ioctl`` depends on the number alone), so allowed syscalls do not
even run it.
"""

from __future__ import annotations

import errno
import functools
import platform
import struct
from dataclasses import dataclass

__all__ = ["DENIED", "UnsupportedArchitecture", "program", "syscall_numbers"]

# Syscall numbers of the names the filter uses. x86_64: arch/x86/entry/syscalls/syscall_64.tbl (checked
# against linux-libc-dev's asm/unistd_64.h); aarch64: the generic table, include/uapi/asm-generic/unistd.h
# (scripts/syscall.tbl since Linux 6.11). Numbers from 424 on are the same on every architecture.
# open_tree_attr (467) is from Linux 6.15, newer than Debian 12's headers.
_X86_64 = {
    "ioctl": 16, "clone": 56, "syslog": 103, "ptrace": 101, "uselib": 134, "personality": 135,
    "vhangup": 153, "modify_ldt": 154, "pivot_root": 155, "adjtimex": 159, "chroot": 161, "acct": 163,
    "settimeofday": 164, "mount": 165, "umount2": 166, "swapon": 167, "swapoff": 168, "reboot": 169,
    "iopl": 172, "ioperm": 173, "init_module": 175, "delete_module": 176, "quotactl": 179, "nfsservctl": 180,
    "lookup_dcookie": 212, "clock_settime": 227, "kexec_load": 246, "add_key": 248, "request_key": 249,
    "keyctl": 250, "unshare": 272, "perf_event_open": 298, "name_to_handle_at": 303, "open_by_handle_at": 304,
    "clock_adjtime": 305, "setns": 308, "kcmp": 312, "finit_module": 313, "kexec_file_load": 320, "bpf": 321,
    "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "mount_setattr": 442, "quotactl_fd": 443, "open_tree_attr": 467,
}  # fmt: skip
_AARCH64 = {
    "lookup_dcookie": 18, "ioctl": 29, "umount2": 39, "mount": 40, "pivot_root": 41, "nfsservctl": 42,
    "chroot": 51, "vhangup": 58, "quotactl": 60, "acct": 89, "personality": 92, "unshare": 97,
    "kexec_load": 104, "init_module": 105, "delete_module": 106, "clock_settime": 112, "syslog": 116,
    "ptrace": 117, "reboot": 142, "settimeofday": 170, "adjtimex": 171, "add_key": 217, "request_key": 218,
    "keyctl": 219, "clone": 220, "swapon": 224, "swapoff": 225, "perf_event_open": 241,
    "name_to_handle_at": 264, "open_by_handle_at": 265, "clock_adjtime": 266, "setns": 268, "kcmp": 272,
    "finit_module": 273, "bpf": 280, "userfaultfd": 282, "kexec_file_load": 294, "io_uring_setup": 425,
    "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428, "move_mount": 429, "fsopen": 430,
    "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442, "quotactl_fd": 443,
    "open_tree_attr": 467,
}  # fmt: skip

# What fails with EPERM, by name; a name an architecture lacks (iopl, ioperm, modify_ldt, uselib on aarch64)
# is skipped there.
DENIED = (
    # Loading and replacing the kernel, rebooting.
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot",
    # The host's swap, clock and process accounting.
    "swapon", "swapoff", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "acct",
    # Changing the filesystem tree: the sandbox's tree is bwrap's, final. Also the new mount API.
    "mount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig", "fsmount", "fspick", "move_mount",
    "open_tree", "open_tree_attr", "mount_setattr",
    # New namespaces, entering others (clone's namespace flags are checked apart).
    "unshare", "setns",
    # Large kernel attack surfaces a job does not need.
    "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd", "io_uring_setup",
    "io_uring_enter", "io_uring_register",
    # File handles bypass path permissions ("shocker"); quotas; obsolete or information-leaking ones.
    "open_by_handle_at", "name_to_handle_at", "quotactl", "quotactl_fd", "lookup_dcookie", "nfsservctl",
    "syslog", "uselib", "vhangup", "kcmp",
    # x86 only: I/O ports and the per-process LDT.
    "iopl", "ioperm", "modify_ldt",
)  # fmt: skip


@dataclass(frozen=True)
class _Arch:
    audit_arch: int
    syscalls: dict[str, int]
    x32_bit: bool  # the x32 ABI shares AUDIT_ARCH_X86_64 and marks its numbers with bit 30


_ARCHES = {
    "x86_64": _Arch(0xC000003E, _X86_64, x32_bit=True),  # AUDIT_ARCH_X86_64
    "aarch64": _Arch(0xC00000B7, _AARCH64, x32_bit=False),  # AUDIT_ARCH_AARCH64 (little endian)
}
_ALIASES = {"amd64": "x86_64", "arm64": "aarch64"}

X32_SYSCALL_BIT = 0x40000000

# seccomp_data (linux/seccomp.h): int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]. Both
# architectures are little endian: the low 32 bits of args[i] are at 16 + 8 * i.
_OFFSET_NR = 0
_OFFSET_ARCH = 4


def _arg_low(index: int) -> int:
    return 16 + 8 * index


SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_ALLOW = 0x7FFF0000

# linux/sched.h. Not CLONE_NEWTIME (0x80): in clone() that bit belongs to the exit signal.
CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x08000000, 0x10000000, 0x20000000, 0x40000000
CLONE_NAMESPACES = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID
CLONE_NAMESPACES |= CLONE_NEWNET
# Docker's allowed personalities: PER_LINUX, PER_LINUX32, UNAME26, UNAME26 | PER_LINUX32, query.
ALLOWED_PERSONALITIES = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)
# asm-generic/ioctls.h (x86_64 and aarch64 alike).
TIOCSTI, TIOCLINUX = 0x5412, 0x541C

# Classic BPF opcodes (linux/filter.h, linux/bpf_common.h).
BPF_LD, BPF_W, BPF_ABS = 0x00, 0x00, 0x20
BPF_JMP, BPF_JEQ, BPF_JGE, BPF_JSET, BPF_K = 0x05, 0x10, 0x30, 0x40, 0x00
BPF_RET = 0x06
_LOAD = BPF_LD | BPF_W | BPF_ABS


class UnsupportedArchitecture(ValueError):
    """No syscall table for this machine: the sandbox cannot get its seccomp filter."""


# --- a tiny assembler: instructions are (code, k, jt, jf); jt/jf are 0 or a label defined later --------


@dataclass(frozen=True)
class _Label:
    name: str


def _stmt(code: int, k: int) -> tuple[int, int, str | int, str | int]:
    return (code, k, 0, 0)


def _jump(op: int, k: int, jt: str | int = 0, jf: str | int = 0) -> tuple[int, int, str | int, str | int]:
    return (BPF_JMP | op | BPF_K, k, jt, jf)


def _load(offset: int) -> tuple[int, int, str | int, str | int]:
    return _stmt(_LOAD, offset)


def _ret(value: int) -> tuple[int, int, str | int, str | int]:
    return _stmt(BPF_RET | BPF_K, value)


def _assemble(code: list) -> bytes:
    """Encode instructions and labels: a label's jumps become offsets from the next instruction."""
    positions: dict[str, int] = {}
    instructions = []
    for item in code:
        if isinstance(item, _Label):
            positions[item.name] = len(instructions)
        else:
            instructions.append(item)
    out = bytearray()
    for index, (op, k, jt, jf) in enumerate(instructions):
        offsets = []
        for target in (jt, jf):
            offset = positions[target] - index - 1 if isinstance(target, str) else target
            if not 0 <= offset <= 255:
                raise AssertionError(f"BPF jump offset {offset} out of range at instruction {index}")
            offsets.append(offset)
        out += struct.pack("<HBBI", op, offsets[0], offsets[1], k)
    return bytes(out)


def _normalize(arch: str | None) -> str:
    name = (arch or platform.machine()).lower()
    return _ALIASES.get(name, name)


def syscall_numbers(arch: str | None = None) -> dict[str, int]:
    """The syscall numbers the filter uses on ``arch`` (default: this machine), by name."""
    name = _normalize(arch)
    if name not in _ARCHES:
        raise UnsupportedArchitecture(f"no seccomp syscall table for {name!r} (only {', '.join(_ARCHES)})")
    return dict(_ARCHES[name].syscalls)


@functools.cache
def program(arch: str | None = None) -> bytes:
    """The filter for ``arch`` (default: this machine) as bwrap's ``--seccomp FD`` reads it.

    Raises :class:`UnsupportedArchitecture` for a machine other than x86_64 and aarch64 (fail closed).
    """
    name = _normalize(arch)
    if name not in _ARCHES:
        raise UnsupportedArchitecture(f"no seccomp syscall table for {name!r} (only {', '.join(_ARCHES)})")
    spec = _ARCHES[name]
    nr = spec.syscalls
    eperm = SECCOMP_RET_ERRNO | errno.EPERM
    code: list = [
        _load(_OFFSET_ARCH),
        _jump(BPF_JEQ, spec.audit_arch, 1, 0),
        _ret(SECCOMP_RET_KILL_PROCESS),
        _load(_OFFSET_NR),
    ]
    if spec.x32_bit:
        code.append(_jump(BPF_JGE, X32_SYSCALL_BIT, "eperm"))
    code += [
        _jump(BPF_JEQ, nr["clone"], "clone"),
        _jump(BPF_JEQ, nr["personality"], "personality"),
        _jump(BPF_JEQ, nr["ioctl"], "ioctl"),
    ]
    code += [_jump(BPF_JEQ, nr[syscall], "eperm") for syscall in DENIED if syscall in nr]
    code.append(_ret(SECCOMP_RET_ALLOW))

    code += [_Label("clone"), _load(_arg_low(0)), _jump(BPF_JSET, CLONE_NAMESPACES, "eperm", "allow")]
    code += [_Label("personality"), _load(_arg_low(0))]
    code += [_jump(BPF_JEQ, value, "allow") for value in ALLOWED_PERSONALITIES]
    code.append(_ret(eperm))
    code += [_Label("ioctl"), _load(_arg_low(1))]
    code += [_jump(BPF_JEQ, request, "eperm") for request in (TIOCSTI, TIOCLINUX)]
    code += [_Label("allow"), _ret(SECCOMP_RET_ALLOW)]
    code += [_Label("eperm"), _ret(eperm)]
    return _assemble(code)
