"""The one registry of error ids and their texts.

An id reads ``area:fault:what``; ``fault`` is ``user`` (the caller can fix it, never sent to error tracking)
or ``platform`` (our bug or outage). Code raises ``PyrunError("area:fault:what", **params)`` and the API,
jobs and builds all render the same text from here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorDef:
    status: int
    message: str


ERRORS: dict[str, ErrorDef] = {
    # API plumbing
    "api:user:malformed-request": ErrorDef(400, "The request body could not be parsed: {detail}"),
    "api:user:invalid": ErrorDef(400, "Some fields are invalid."),
    "api:user:not-found": ErrorDef(404, "Not found."),
    "api:user:method-not-allowed": ErrorDef(405, "Method {method} is not allowed here."),
    "api:user:not-acceptable": ErrorDef(406, "Cannot produce a response in the requested format."),
    "api:user:unsupported-media-type": ErrorDef(415, "Unsupported media type {media_type}."),
    "api:user:too-large": ErrorDef(413, "The request is too large (limit {limit} bytes)."),
    "api:user:throttled": ErrorDef(429, "Too many requests; retry in {wait} seconds."),
    "api:platform:internal": ErrorDef(500, "Internal error; the operators have been notified."),
    # Auth and tenancy
    "auth:user:unauthenticated": ErrorDef(401, "Authentication credentials were not provided."),
    "auth:user:bad-token": ErrorDef(401, "Invalid, expired or revoked API token."),
    "auth:user:forbidden": ErrorDef(403, "You do not have permission to do this."),
    "auth:user:role-required": ErrorDef(403, "This needs the {role} role or higher in {org}."),
    "auth:user:no-membership": ErrorDef(403, "You are not a member of any organisation."),
    "auth:user:login-locked": ErrorDef(429, "Too many failed logins for this account; try again in {minutes} minutes."),
    "tenancy:user:last-owner": ErrorDef(409, "An organisation needs at least one owner."),
    "tenancy:user:owner-only": ErrorDef(403, "Only an owner can grant or remove the owner role."),
    "tenancy:user:already-member": ErrorDef(409, "{email} is already a member of {org}."),
    "tenancy:user:bad-cloud-account": ErrorDef(400, "{detail}"),
}


class PyrunError(Exception):
    """An error with a stable id; its text comes from ``ERRORS``."""

    def __init__(self, error_id: str, **params: object) -> None:
        if error_id not in ERRORS:
            raise KeyError(f"unregistered error id {error_id!r}")
        self.id = error_id
        self.params = params
        super().__init__(self.message)

    @property
    def definition(self) -> ErrorDef:
        return ERRORS[self.id]

    @property
    def status(self) -> int:
        return self.definition.status

    @property
    def message(self) -> str:
        return ERRORS[self.id].message.format(**self.params)

    @property
    def is_user_fault(self) -> bool:
        return self.id.split(":")[1] == "user"


def error_body(error_id: str, message: str | None = None, **extra: object) -> dict:
    """The JSON body of every API error: ``{"error": {"id": ..., "message": ...}}``."""
    body = {"id": error_id, "message": message if message is not None else ERRORS[error_id].message}
    body.update(extra)
    return {"error": body}
