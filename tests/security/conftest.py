"""Fixtures the hostile-tenant tests share with the apps' own tests."""

from tests.runtimes.conftest import inline_builds  # noqa: F401 (a fixture)
