"""Write audit entries. Callers describe the action; this module keeps secrets out of what is stored."""

from __future__ import annotations

import getpass
from typing import Any

from django.db import models

from pyrun_web.audit.models import Action, AuditEntry, Via
from pyrun_web.redaction import redact_keys

# Values under these keys are never stored, whatever the caller passes: only the fact that they were set.
SECRET_KEYS = frozenset({"access_key_id", "secret_access_key", "external_id", "key", "key_hash", "password", "env"})
SECRET_WORDS = ("secret", "password", "token_key", "credential")
MASK = "••••"


def scrub(value: Any) -> Any:
    """``value`` with every secret-looking entry of every nested dict replaced by a mask."""
    if isinstance(value, dict):
        return {str(k): MASK if _is_secret(str(k)) and v not in (None, "") else scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    if isinstance(value, str):
        return redact_keys(value)  # an API key in any text (a URL, an error) keeps only its public prefix
    return value


def _is_secret(key: str) -> bool:
    lowered = key.lower()
    return lowered in SECRET_KEYS or any(word in lowered for word in SECRET_WORDS)


def command_user() -> str:
    """Who ran a management command: the operating-system user (commands have no logged-in user)."""
    try:
        return f"{getpass.getuser()} (shell)"
    except (KeyError, OSError):  # no passwd entry in some containers
        return "shell"


def record(
    action: Action | str,
    *,
    actor: Any = None,
    via: Via | str,
    target: models.Model | None = None,
    org: Any = None,
    details: dict[str, Any] | None = None,
    actor_repr: str = "",
) -> AuditEntry:
    """Write one entry. ``org`` defaults to the target's org (when it has one); ``details`` is scrubbed."""
    if org is None and target is not None:
        org = getattr(target, "org", None)
    user = actor if getattr(actor, "is_authenticated", False) else None
    if not actor_repr:
        actor_repr = str(user) if user is not None else (command_user() if via == Via.COMMAND else "")
    return AuditEntry.objects.create(
        actor=user,
        actor_repr=redact_keys(actor_repr)[:254],
        via=Via(via),
        action=Action(action),
        org=org,
        org_repr=getattr(org, "slug", "") or "",
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None and target.pk is not None else "",
        target_repr=redact_keys(str(target))[:200] if target is not None else "",
        details=scrub(details or {}),
    )
