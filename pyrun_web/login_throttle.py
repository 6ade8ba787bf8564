"""Lock an account's password login after repeated failures (per account and per client address).

Kept in the shared cache (Redis) so every web process sees the same counts. Hand-written rather than
django-axes: it is a dozen lines here, while axes brings its own models, middleware and backend.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache


def _keys(username: str, address: str) -> list[str]:
    user = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return [f"login-fail:user:{user}", f"login-fail:addr:{address}"]


def is_locked(username: str, address: str) -> bool:
    limit = settings.LOGIN_THROTTLE["failures"]
    return any((cache.get(key) or 0) >= limit for key in _keys(username, address))


def record_failure(username: str, address: str) -> None:
    window = settings.LOGIN_THROTTLE["window_seconds"]
    for key in _keys(username, address):
        cache.add(key, 0, window)
        cache.incr(key)


def clear(username: str, address: str) -> None:
    cache.delete(_keys(username, address)[0])
