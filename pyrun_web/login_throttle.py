"""Slow down password guessing without letting a stranger lock a user out (``/login/`` and ``/admin/login/``).

Three counters of failed logins, kept in the shared cache (Redis) so every web process sees them, each for
``LOGIN_THROTTLE["window_seconds"]`` after its first failure:

- **account + address**: ``failures`` (5) wrong passwords for one account from one client address lock that
  pair. Only that client is stopped: the same account from another address, and other accounts from this
  address, go on.
- **address**: ``address_failures`` (20) failures from one address, over any accounts, lock the address:
  one client cannot guess through a list of accounts.
- **account**, from every address: past ``failures``, each further failure makes the account wait a
  **progressive delay** (1 s, 2 s, 4 s … capped at ``max_delay_seconds``, 30 s) before the next attempt from
  an address it has not logged in from. The account is never locked: a distributed guesser gets one try per
  delay, and the real user waits at most that delay on a new address — and not at all on an address they
  logged in from in the last 30 days (a successful login remembers its address).

Refused attempts (429) check no password and count nothing.

**The client address.** ``REMOTE_ADDR`` by default. With ``PYRUN_BEHIND_PROXY`` set (the compose stack), it is
the *last* entry of ``X-Forwarded-For``: the address the trusted proxy appended (nginx
``proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for``; Caddy and Traefik append by default). Earlier
entries are whatever the client sent and are ignored; ``X-Real-IP`` is not read (a proxy that sets only it
passes a client's own ``X-Forwarded-For`` through untouched, which would let the client pick its address).
IPv6 clients are counted per /64, the block one subscriber usually holds.

Hand-written rather than django-axes: axes brings its own models, middleware and backend.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from pyrun_web.errors import ERRORS

KNOWN_ADDRESS_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True)
class Refusal:
    error_id: str
    retry_after: int  # seconds

    @property
    def message(self) -> str:
        minutes = max(1, math.ceil(self.retry_after / 60))
        return ERRORS[self.error_id].message.format(minutes=minutes, seconds=self.retry_after)


def _config(name: str, default: int) -> int:
    return int(settings.LOGIN_THROTTLE.get(name, default))


def client_address(request) -> str:
    """The client's address as the throttle counts it (see the module's docstring)."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    if getattr(settings, "PYRUN_BEHIND_PROXY", False):
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if hops:
            remote = hops[-1]
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return remote[:100]
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _user(username: str) -> str:
    return _hash(username.strip().lower())


def _keys(username: str, address: str) -> dict[str, str]:
    user, addr = _user(username), _hash(address)
    return {
        "pair": f"login-fail:pair:{user}:{addr}",
        "address": f"login-fail:addr:{addr}",
        "account": f"login-fail:user:{user}",
        "next": f"login-next:user:{user}",
        "known": f"login-known:{user}:{addr}",
    }


def check(username: str, address: str) -> Refusal | None:
    """Why an attempt must be refused before its password is checked, or None to let it through."""
    window = _config("window_seconds", 300)
    keys = _keys(username, address)
    counts = cache.get_many([keys["pair"], keys["address"], keys["next"], keys["known"]])
    if (counts.get(keys["address"]) or 0) >= _config("address_failures", 20):
        return Refusal("auth:user:login-address-locked", _ttl(keys["address"], window))
    if (counts.get(keys["pair"]) or 0) >= _config("failures", 5):
        return Refusal("auth:user:login-locked", _ttl(keys["pair"], window))
    next_allowed = counts.get(keys["next"])
    if next_allowed and not counts.get(keys["known"]) and next_allowed > time.time():
        return Refusal("auth:user:login-delayed", max(1, math.ceil(next_allowed - time.time())))
    return None


def _ttl(key: str, default: int) -> int:
    ttl = getattr(cache, "ttl", None)
    try:
        left = ttl(key) if ttl else None
    except Exception:  # a cache backend without TTLs: the whole window
        left = None
    return int(left) if isinstance(left, int | float) and left > 0 else default


def _incr(key: str, window: int) -> int:
    cache.add(key, 0, window)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window)
        return 1


def record_failure(username: str, address: str) -> None:
    window = _config("window_seconds", 300)
    keys = _keys(username, address)
    _incr(keys["pair"], window)
    _incr(keys["address"], window)
    over = _incr(keys["account"], window) - _config("failures", 5)
    if over >= 0:
        delay = min(2**over, _config("max_delay_seconds", 30))
        cache.set(keys["next"], time.time() + delay, delay)


def record_success(username: str, address: str) -> None:
    """A right password: forget this client's failures on the account and remember the address as known."""
    keys = _keys(username, address)
    cache.delete(keys["pair"])
    cache.set(keys["known"], 1, KNOWN_ADDRESS_SECONDS)
