"""Walk every registered API route and prove the outsider (owner of another org) gets 404 for our objects.

A new endpoint with an object id must add a factory to OBJECT_FACTORIES, or this test fails and says so.
"""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from jobs.models import Job
from pyrun_web.tenancy.models import ApiToken, CloudAccount, Invitation, Membership
from runtimes.models import Runtime
from tests.tenants import Tenants
from workspaces.services import create_workspace


def _workspace(t: Tenants):
    return create_workspace(org=t.org, user=t.owner, name="Isolation", template="python")


def _csv_workspace(t: Tenants):
    workspace = _workspace(t)
    (workspace.path / "data.csv").write_text("a,b\n1,2\n")
    return workspace


def _runtime(t: Tenants):
    return Runtime.objects.create(org=t.org, spec_hash=f"{Runtime.objects.count():064x}", kind="conda", builder="uv")


def _job(t: Tenants):
    return Job.objects.create(org=t.org, workspace=_workspace(t), entrypoint="main.py", backend="lithops-localhost")


def _invitation(t: Tenants):
    token_hash = f"{Invitation.objects.count():064x}"
    return Invitation.objects.create(org=t.org, email="carol@example.com", token_hash=token_hash)


OBJECT_FACTORIES = {
    "org": lambda t: t.org.pk,
    "member": lambda t: Membership.objects.get(org=t.org, user=t.member).pk,
    "token": lambda t: ApiToken.objects.get(user=t.owner).pk,
    "cloud-account": lambda t: (
        CloudAccount.objects.create(
            org=t.org, name="prod", region="eu-west-1", access_key_id="AKIAEXAMPLE12345", secret_access_key="s"
        ).pk
    ),
    "workspace": lambda t: _workspace(t).pk,
    "workspace-files": lambda t: _workspace(t).pk,
    # The walk fills in only {pk}; a fragment ends the URL there, so the raw-file route is walked on a real file.
    "workspace-file": lambda t: f"{_workspace(t).pk}/files/main.py#",
    "workspace-preview": lambda t: f"{_csv_workspace(t).pk}/preview/data.csv#",
    "runtime": lambda t: _runtime(t).pk,
    "job": lambda t: _job(t).pk,
    "workspace-runs": lambda t: _workspace(t).pk,
    "invitation": lambda t: _invitation(t).pk,
}


def api_routes():
    """(route regex, callback) for every pattern under /api/v1/, format-suffix variants excluded."""

    def walk(patterns, prefix):
        for entry in patterns:
            regex = prefix + entry.pattern.regex.pattern.lstrip("^").rstrip("$")
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, regex)
            elif isinstance(entry, URLPattern) and "format" not in entry.pattern.regex.groupindex:
                yield regex, entry.callback

    for regex, callback in walk(get_resolver().url_patterns, ""):
        if regex.startswith("api/v1/"):
            yield regex, callback


def fill(regex: str, pk: object) -> str:
    path = re.sub(r"\(\?P<pk>[^)]*\)", str(pk), regex)
    return "/" + path.replace("\\", "")


def detail_routes():
    for regex, callback in api_routes():
        if "(?P<pk>" in regex:
            yield regex, callback


def test_every_detail_route_has_a_factory():
    missing = {cb.initkwargs.get("basename") for _, cb in detail_routes()} - set(OBJECT_FACTORIES)
    assert not missing, f"add factories for {missing} to OBJECT_FACTORIES"


@pytest.mark.parametrize(("regex", "callback"), list(detail_routes()), ids=lambda v: v if isinstance(v, str) else "")
def test_outsider_gets_404_on_every_method(tenants: Tenants, regex, callback):
    pk = OBJECT_FACTORIES[callback.initkwargs["basename"]](tenants)
    url = fill(regex, pk)
    client = tenants.client("outsider")
    methods = [m for m in callback.actions if m in callback.cls.http_method_names and m not in ("head", "options")]
    assert methods
    for method in methods:
        response = getattr(client, method)(url, {}, format="json")
        assert response.status_code == 404, (method, url, response.status_code)
        assert response.json()["error"]["id"] == "api:user:not-found"
    # The same object is visible to its own org (so the 404 above is about tenancy, not a broken route). A route that
    # needs parameters (search's ?q=) answers the owner's bare GET with its own validation error instead.
    response = tenants.client("owner").get(url)
    assert response.status_code in (200, 400, 405), (url, response.status_code)
    if response.status_code == 400:
        error = response.json()["error"]["id"]
        assert ":user:" in error and error != "api:user:not-found", error


# Lists that are not an org's: the workspace templates, the pipelines and the executor backends.
REGISTRIES = {"/api/v1/templates/", "/api/v1/pipelines/", "/api/v1/backends/"}


@pytest.mark.parametrize("regex", [r for r, cb in api_routes() if getattr(cb, "actions", {}).get("get") == "list"])
def test_outsider_lists_show_nothing_of_ours(tenants: Tenants, regex):
    for factory in OBJECT_FACTORIES.values():
        factory(tenants)
    url = "/" + regex.removesuffix("\\Z").replace("\\", "")
    ours = tenants.client("owner").get(url).json()["results"]
    theirs = tenants.client("outsider").get(url).json()["results"]
    assert ours
    if url in REGISTRIES:  # kept in code, the same for every org: nothing of an org's is in them
        assert ours == theirs
        return
    assert not {row["id"] for row in ours} & {row["id"] for row in theirs}


def test_session_user_naming_a_foreign_org_gets_404(tenants: Tenants):
    client = tenants.session_client("member")
    response = client.get("/api/v1/me/", HTTP_X_PYRUN_ORG=tenants.other_org.slug)
    assert response.status_code == 404
