import subprocess
import sys

import pytest
from rest_framework.test import APIClient

from tests.conftest import worker_env


@pytest.mark.django_db(transaction=True)
def test_createtenant_prints_a_working_token_last():
    result = subprocess.run(
        [sys.executable, "manage.py", "createtenant", "Initech", "boss@initech.example"],
        capture_output=True, text=True, env=worker_env(), check=True,
    )  # fmt: skip
    key = result.stdout.strip().splitlines()[-1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    me = client.get("/api/v1/me/").json()
    assert (me["org"]["slug"], me["user"]["email"], me["role"]) == ("initech", "boss@initech.example", "owner")
