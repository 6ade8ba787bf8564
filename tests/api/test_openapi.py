import subprocess
import sys

from django.test import Client

from tests.conftest import worker_env


def test_schema_generates_without_warnings_and_validates(db):
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json"],
        capture_output=True, text=True, env=worker_env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert '"/api/v1/health/"' in result.stdout


def test_schema_and_docs_are_served(db):
    client = Client()
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "tokenAuth" in schema.json()["components"]["securitySchemes"]
    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    # Self-hosted installs have no CDN: the page's assets are served by the platform itself.
    assert "cdn.jsdelivr" not in docs.content.decode()
    assert "/static/drf_spectacular_sidecar/" in docs.content.decode()
