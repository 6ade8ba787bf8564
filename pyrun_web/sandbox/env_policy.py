"""Which environment variable names tenant input may set (the run API's ``env``, a Dockerfile's ``ENV``).

The launcher boundary already keeps every tenant variable away from host-side processes (bwrap starts with
a fixed environment and receives the job's variables through a pipe, see ``pyrun_web.sandbox``), so these
names can only reach sandboxed processes. They are refused anyway, as a second wall: each one changes how
the dynamic loader or libc of *any* program behaves (load a library, write debug files, pick conversion
modules), and a mistake in the boundary must not turn into code running on the host.

``LD_LIBRARY_PATH`` is deliberately allowed: it only chooses where shared libraries are looked up, many
images (CUDA, Oracle clients) need it, and glibc ignores it for setuid programs anyway.
"""

from __future__ import annotations

# glibc's "unsecure" variables (elf/dl-support, sysdeps/generic/unsecvars.h) that a setuid program never
# sees, and a few more that make libc read tenant-chosen files.
REFUSED_NAMES = frozenset({
    "GCONV_PATH", "GETCONF_DIR", "GLIBC_TUNABLES", "HOSTALIASES", "LOCALDOMAIN", "LOCPATH", "MALLOC_ARENA_MAX",
    "MALLOC_ARENA_TEST", "MALLOC_CHECK_", "MALLOC_MMAP_MAX_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_PERTURB_",
    "MALLOC_TCACHE_COUNT", "MALLOC_TCACHE_MAX", "MALLOC_TOP_PAD_", "MALLOC_TRACE", "MALLOC_TRIM_THRESHOLD_",
    "NIS_PATH", "NLSPATH", "RESOLV_HOST_CONF", "RES_OPTIONS", "TZDIR",
})  # fmt: skip
# Every loader variable (LD_PRELOAD, LD_AUDIT, LD_DEBUG, LD_DEBUG_OUTPUT, LD_PROFILE, LD_PROFILE_OUTPUT,
# LD_ORIGIN_PATH, LD_SHOW_AUXV, ...) but the library search path.
REFUSED_PREFIXES = ("LD_",)
ALLOWED_EXCEPTIONS = frozenset({"LD_LIBRARY_PATH"})
REASON = "it changes how the dynamic loader or libc of every program behaves"


def is_refused(name: str) -> bool:
    """True if tenant input may not set ``name``."""
    if name in ALLOWED_EXCEPTIONS:
        return False
    return name in REFUSED_NAMES or name.startswith(REFUSED_PREFIXES)


def first_refused(names: object) -> str | None:
    """The first refused name among ``names`` (any iterable of names), in their order."""
    for name in names:  # type: ignore[attr-defined]
        if isinstance(name, str) and is_refused(name):
            return name
    return None
