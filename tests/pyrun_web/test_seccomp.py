"""The sandbox's seccomp filter: installed by real bwrap, what a tenant's process sees under it.

Probes run a stdlib-only Python inside bwrap (the host's /usr/bin/python3 when there is one) and call the
syscalls with ctypes. Each denied call is made with arguments the kernel itself would refuse with another
errno than EPERM (or accept): so EPERM comes from the filter, which the runs without the filter prove.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import signal
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from pyrun_web.sandbox import seccomp

BWRAP = shutil.which("bwrap")
MACHINE = platform.machine()
pytestmark = pytest.mark.skipif(BWRAP is None, reason="bwrap (Debian bubblewrap) not installed")
x86_64_only = pytest.mark.skipif(MACHINE != "x86_64", reason="x86_64 ABI")

if os.path.exists("/usr/bin/python3"):
    PYTHON, PYTHON_BINDS = "/usr/bin/python3", []
else:  # the test's own interpreter (e.g. under /root/.pyenv): bind its prefixes read-only
    PYTHON = os.path.join(sys.base_prefix, "bin", "python3")
    PYTHON_BINDS = sorted({sys.base_prefix, sys.prefix})


def run_sandboxed(argv: list[str], *, seccomp_filter: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in a bwrap sandbox like the platform's, with or without the filter."""
    args = [BWRAP, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent"]
    args += ["--cap-drop", "ALL", "--ro-bind", "/usr", "/usr"]
    args += ["--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin"]
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for prefix in PYTHON_BINDS:
        args += ["--ro-bind", prefix, prefix]
    fds: list[int] = []
    try:
        if seccomp_filter:
            read_end, write_end = os.pipe()
            fds.append(read_end)
            os.write(write_end, seccomp.program())  # ~600 bytes: far below a pipe's capacity
            os.close(write_end)
            args += ["--seccomp", str(read_end)]
        return subprocess.run(
            [*args, "--", *argv], pass_fds=fds, capture_output=True, text=True, timeout=120, check=False
        )
    finally:
        for fd in fds:
            os.close(fd)


# Runs inside the sandbox: prints {probe: "ok" | errno name}. argv[1] is the JSON of the syscall numbers.
PROBE = r"""
import ctypes, errno, fcntl, json, os, platform, sys, termios

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
NR = json.loads(sys.argv[1])
SIGCHLD, CLONE_NEWNS, CLONE_NEWUSER = 17, 0x20000, 0x10000000


def call(nr, *args):
    ctypes.set_errno(0)
    result = libc.syscall(ctypes.c_long(nr), *(ctypes.c_ulong(arg & 0xFFFFFFFFFFFFFFFF) for arg in args))
    return result, ctypes.get_errno()


def outcome(nr, *args):
    result, err = call(nr, *args)
    return "ok" if result != -1 else errno.errorcode.get(err, str(err))


def in_child(function):
    # Run function() in a forked child; its string result comes back through a pipe.
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            text = function()
        except BaseException as exc:
            text = "raised " + repr(exc)
        os.write(write_end, text.encode())
        os._exit(0)
    os.close(write_end)
    text = os.read(read_end, 4096).decode()
    os.waitpid(pid, 0)
    return text


def clone(flags):
    result, err = call(NR["clone"], flags, 0, 0, 0, 0)
    if result == 0:
        os._exit(0)
    if result == -1:
        return errno.errorcode.get(err, str(err))
    os.waitpid(result, 0)
    return "ok"


def ioctl_on_controlling_tty(request):
    def child():
        os.setsid()
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        buffer = ctypes.create_string_buffer(b"x", 64)
        return outcome(NR["ioctl"], slave, request, ctypes.addressof(buffer))
    return in_child(child)


def personality(value):
    result = outcome(NR["personality"], value)
    call(NR["personality"], 0)  # back to PER_LINUX if it worked
    return result


def ptrace_traceme():
    def child():
        ctypes.set_errno(0)
        result = libc.ptrace(ctypes.c_long(0), 0, None, None)  # PTRACE_TRACEME
        return "ok" if result == 0 else errno.errorcode.get(ctypes.get_errno(), "?")
    return in_child(child)


class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


def process_vm_readv():
    source, target = ctypes.create_string_buffer(b"py-spy", 6), ctypes.create_string_buffer(6)
    local = iovec(ctypes.cast(target, ctypes.c_void_p), 6)
    remote = iovec(ctypes.cast(source, ctypes.c_void_p), 6)
    libc.process_vm_readv.restype = ctypes.c_ssize_t
    ctypes.set_errno(0)
    count = libc.process_vm_readv(os.getpid(), ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
    if count == -1:
        return errno.errorcode.get(ctypes.get_errno(), "?")
    return "ok" if target.raw == b"py-spy" else "read " + repr(target.raw)


# Arguments are chosen so that the kernel, unfiltered, answers something else than EPERM.
probes = {
    "keyctl": lambda: outcome(NR["keyctl"], 0, -3, 0),  # KEYCTL_GET_KEYRING_ID of the session keyring
    "bpf": lambda: outcome(NR["bpf"], 0, 0, 1 << 20),  # an attr size > PAGE_SIZE: E2BIG first
    "perf_event_open": lambda: outcome(NR["perf_event_open"], 0, 0, -1, -1, 0),  # NULL attr: EFAULT
    "mount": lambda: outcome(NR["mount"], 0, 0, 0, 0, 0),  # NULL target: EFAULT
    "io_uring_setup": lambda: outcome(NR["io_uring_setup"], 1, 0),  # NULL params: EFAULT
    "unshare(CLONE_NEWNS)": lambda: outcome(NR["unshare"], CLONE_NEWNS),
    "unshare(0)": lambda: outcome(NR["unshare"], 0),
    "clone(CLONE_NEWUSER)": lambda: clone(CLONE_NEWUSER | SIGCHLD),
    "personality(ADDR_NO_RANDOMIZE)": lambda: personality(0x0040000),
    "ioctl(TIOCSTI)": lambda: ioctl_on_controlling_tty(termios.TIOCSTI),
    "ioctl(TIOCSTI | 1 << 32)": lambda: ioctl_on_controlling_tty(termios.TIOCSTI | 1 << 32),
    # Allowed.
    "clone(SIGCHLD)": lambda: clone(SIGCHLD),
    "personality(query)": lambda: personality(0xFFFFFFFF),
    "personality(PER_LINUX)": lambda: personality(0),
    "ioctl(TIOCGWINSZ)": lambda: ioctl_on_controlling_tty(termios.TIOCGWINSZ),
    "ptrace(PTRACE_TRACEME)": ptrace_traceme,
    "process_vm_readv": process_vm_readv,
}
if platform.machine() == "x86_64":
    probes["x32 getpid"] = lambda: outcome(0x40000000 | 39)

results = {}
for name, probe in probes.items():
    try:
        results[name] = probe()
    except Exception as exc:
        results[name] = "raised " + repr(exc)
print(json.dumps(results))
"""

DENIED_PROBES = [
    "keyctl",
    "bpf",
    "perf_event_open",
    "mount",
    "io_uring_setup",
    "unshare(CLONE_NEWNS)",
    "unshare(0)",
    "clone(CLONE_NEWUSER)",
    "personality(ADDR_NO_RANDOMIZE)",
    "ioctl(TIOCSTI)",
    "ioctl(TIOCSTI | 1 << 32)",
    pytest.param("x32 getpid", marks=x86_64_only),
]
ALLOWED_PROBES = [
    "clone(SIGCHLD)",
    "personality(query)",
    "personality(PER_LINUX)",
    "ioctl(TIOCGWINSZ)",
    "ptrace(PTRACE_TRACEME)",
    "process_vm_readv",
]


def _probe(seccomp_filter: bool) -> dict[str, str]:
    numbers = json.dumps(seccomp.syscall_numbers())
    result = run_sandboxed([PYTHON, "-c", PROBE, numbers], seccomp_filter=seccomp_filter)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def filtered() -> dict[str, str]:
    return _probe(seccomp_filter=True)


@pytest.fixture(scope="module")
def unfiltered() -> dict[str, str]:
    return _probe(seccomp_filter=False)


def test_the_filter_installs_and_a_command_runs() -> None:
    result = run_sandboxed(["/usr/bin/true"])
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("probe", DENIED_PROBES)
def test_a_denied_call_fails_with_eperm(filtered: dict[str, str], probe: str) -> None:
    assert filtered[probe] == "EPERM"


@pytest.mark.parametrize("probe", [p for p in DENIED_PROBES if p != "unshare(CLONE_NEWNS)"])
def test_without_the_filter_the_same_call_does_not_fail_with_eperm(unfiltered: dict[str, str], probe: str) -> None:
    # unshare(CLONE_NEWNS) is left out: without capabilities the kernel refuses it with EPERM too (the wall
    # behind the filter); unshare(0) shows that the filter is what refuses unshare.
    assert unfiltered[probe] != "EPERM"
    assert not unfiltered[probe].startswith("raised"), unfiltered[probe]


@pytest.mark.parametrize("probe", ALLOWED_PROBES)
def test_an_allowed_call_still_works(filtered: dict[str, str], probe: str) -> None:
    assert filtered[probe] == "ok"


NORMAL_PROGRAM = r"""
import math, multiprocessing, socket, subprocess, sys, threading

if __name__ == "__main__":
    out = []
    thread = threading.Thread(target=lambda: out.append("thread"))
    thread.start()
    thread.join()
    out.append(subprocess.run([sys.executable, "-c", "print('child')"], capture_output=True, text=True).stdout.strip())
    a, b = socket.socketpair()
    a.sendall(b"pair")
    out.append(b.recv(4).decode())
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(server.getsockname())
    connection, _ = server.accept()
    client.sendall(b"tcp")
    out.append(connection.recv(3).decode())
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        out.append(sum(pool.map(math.factorial, range(6))))
    with multiprocessing.get_context("fork").Pool(2) as pool:
        out.append(sum(pool.map(math.factorial, range(6))))
    print(out)
"""


def test_a_normal_python_program_still_works() -> None:
    result = run_sandboxed([PYTHON, "-c", NORMAL_PROGRAM])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['thread', 'child', 'pair', 'tcp', 154, 154]"


I386_GETPID = r"""
import ctypes, mmap
code = bytes([0xB8, 20, 0, 0, 0, 0xCD, 0x80, 0xC3])  # mov eax, 20 (i386 getpid); int 0x80; ret
memory = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
memory.write(code)
print(ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(memory)))(), flush=True)
"""


@x86_64_only
def test_a_syscall_of_the_i386_abi_kills_the_process() -> None:
    unfiltered = run_sandboxed([PYTHON, "-c", I386_GETPID], seccomp_filter=False)
    if not unfiltered.stdout.strip().isdigit():
        pytest.skip(f"this kernel has no i386 emulation: {unfiltered.returncode} {unfiltered.stderr[-200:]}")
    result = run_sandboxed([PYTHON, "-c", I386_GETPID])
    # bwrap's init reports a child killed by a signal as 128 + the signal.
    assert result.returncode == 128 + signal.SIGSYS, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""


# --- the program itself, for both architectures, run by a small classic-BPF interpreter ---------------------


def run_bpf(program: bytes, nr: int, arch: int, args: tuple[int, ...] = ()) -> int:
    """What the kernel would return for this seccomp_data (only the instructions seccomp.py emits)."""
    data = struct.pack("<iIQ6Q", nr, arch, 0, *(list(args) + [0] * (6 - len(args))))
    instructions = list(struct.iter_unpack("<HBBI", program))
    pc, accumulator = 0, 0
    while True:
        code, jt, jf, k = instructions[pc]
        if code == 0x20:  # ld [k]
            accumulator = struct.unpack_from("<I", data, k)[0]
            pc += 1
        elif code == 0x06:  # ret k
            return k
        elif code in (0x15, 0x35, 0x45):  # jeq, jge, jset
            taken = {0x15: accumulator == k, 0x35: accumulator >= k, 0x45: bool(accumulator & k)}[code]
            pc += 1 + (jt if taken else jf)
        else:
            raise AssertionError(f"unexpected BPF opcode {code:#x}")


EPERM = seccomp.SECCOMP_RET_ERRNO | 1
ALLOW, KILL = seccomp.SECCOMP_RET_ALLOW, seccomp.SECCOMP_RET_KILL_PROCESS
ARCHES = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
# Syscalls a job makes all the time: read, write, openat, mmap, clone3, execve.
COMMON = {"x86_64": (0, 1, 257, 9, 435, 59), "aarch64": (63, 64, 56, 222, 435, 221)}


@pytest.mark.parametrize("arch", ARCHES)
def test_the_program_is_well_formed(arch: str) -> None:
    program = seccomp.program(arch)
    assert len(program) % 8 == 0 and 0 < len(program) // 8 < 4096  # BPF_MAXINSNS
    first, second = struct.unpack_from("<HBBI", program, 0), struct.unpack_from("<HBBI", program, 8)
    assert first == (0x20, 0, 0, 4)  # ld seccomp_data.arch
    assert second == (0x15, 1, 0, ARCHES[arch])  # jeq AUDIT_ARCH
    assert seccomp.program(arch) is program  # cached


@pytest.mark.parametrize("arch", ARCHES)
def test_the_program_denies_every_listed_syscall_and_allows_common_ones(arch: str) -> None:
    program, numbers, audit = seccomp.program(arch), seccomp.syscall_numbers(arch), ARCHES[arch]
    denied = [name for name in seccomp.DENIED if name in numbers]
    assert {"keyctl", "bpf", "perf_event_open", "mount", "unshare", "io_uring_setup"} <= set(denied)
    for name in denied:
        assert run_bpf(program, numbers[name], audit) == EPERM, name
    for nr in COMMON[arch]:
        assert run_bpf(program, nr, audit) == ALLOW, nr
    for name in ("ptrace", "kcmp"):
        assert run_bpf(program, numbers[name], audit) == (ALLOW if name == "ptrace" else EPERM), name


@pytest.mark.parametrize("arch", ARCHES)
def test_the_program_checks_the_arguments_of_clone_personality_and_ioctl(arch: str) -> None:
    program, numbers, audit = seccomp.program(arch), seccomp.syscall_numbers(arch), ARCHES[arch]
    clone, personality, ioctl = numbers["clone"], numbers["personality"], numbers["ioctl"]
    thread_flags = 0x003D0F00  # what glibc's pthread_create passes to clone
    assert run_bpf(program, clone, audit, (thread_flags,)) == ALLOW
    assert run_bpf(program, clone, audit, (17,)) == ALLOW  # fork
    for flag in (0x20000, 0x2000000, 0x4000000, 0x8000000, 0x10000000, 0x20000000, 0x40000000):
        assert run_bpf(program, clone, audit, (flag | 17,)) == EPERM, hex(flag)
    for value in (0, 8, 0x20000, 0xFFFFFFFF):
        assert run_bpf(program, personality, audit, (value,)) == ALLOW, hex(value)
    for value in (0x40000, 0x400000, 0x0001):  # ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, PER_SVR4
        assert run_bpf(program, personality, audit, (value,)) == EPERM, hex(value)
    assert run_bpf(program, ioctl, audit, (1, 0x5412)) == EPERM  # TIOCSTI
    assert run_bpf(program, ioctl, audit, (1, 0x5412 | 1 << 32)) == EPERM
    assert run_bpf(program, ioctl, audit, (1, 0x541C)) == EPERM  # TIOCLINUX
    assert run_bpf(program, ioctl, audit, (1, 0x5413)) == ALLOW  # TIOCGWINSZ


def test_another_abi_is_killed_and_x32_refused() -> None:
    x86, arm = seccomp.program("x86_64"), seccomp.program("aarch64")
    assert run_bpf(x86, 20, 0x40000003) == KILL  # i386 getpid through int 0x80
    assert run_bpf(x86, 39, ARCHES["aarch64"]) == KILL
    assert run_bpf(arm, 172, 0x40000028) == KILL  # 32-bit ARM (AUDIT_ARCH_ARM)
    assert run_bpf(arm, 172, ARCHES["x86_64"]) == KILL
    assert run_bpf(x86, 0x40000000 | 39, ARCHES["x86_64"]) == EPERM  # x32 getpid
    assert run_bpf(arm, 0x40000000 | 172, ARCHES["aarch64"]) == ALLOW  # no x32 on aarch64: ENOSYS


def test_an_unsupported_architecture_raises() -> None:
    with pytest.raises(seccomp.UnsupportedArchitecture, match="riscv64"):
        seccomp.program("riscv64")
    assert seccomp.program("amd64") == seccomp.program("x86_64")
    assert seccomp.program("arm64") == seccomp.program("aarch64")


HEADERS = {
    "x86_64": Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"),
    "aarch64": Path("/usr/include/asm-generic/unistd.h"),
}


@pytest.mark.parametrize("arch", HEADERS)
def test_the_syscall_tables_match_the_kernel_headers(arch: str) -> None:
    header = HEADERS[arch]
    if not header.exists():
        pytest.skip(f"{header} missing (Debian package linux-libc-dev)")
    kernel: dict[str, int] = {}
    for name, number in re.findall(r"#define __NR_(\w+)\s+(\d+)", header.read_text()):
        kernel.setdefault(name, int(number))
    ours = seccomp.syscall_numbers(arch)
    newer = {name for name in ours if name not in kernel}
    assert newer <= {"open_tree_attr"}, newer  # Linux 6.15: newer than Debian 12's headers
    shared = [name for name in ours if name in kernel]
    assert {name: ours[name] for name in shared} == {name: kernel[name] for name in shared}
