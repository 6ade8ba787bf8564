import os
import subprocess
import sys

from cryptography.fernet import Fernet


def _manage(*args, env):
    return subprocess.run([sys.executable, "manage.py", *args], capture_output=True, text=True, env=env)


def test_production_check_deploy_is_clean(tmp_path):
    env = dict(os.environ, PYRUN_ENV="production", PYRUN_DATA_DIR=str(tmp_path),
               SECRET_KEY="x" * 30 + "Yz9!" * 10, FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
               PYRUN_ALLOWED_HOSTS="pyrun.example.com")  # fmt: skip
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_secrets(tmp_path):
    env = dict(os.environ, PYRUN_ENV="production", PYRUN_DATA_DIR=str(tmp_path), PYRUN_ALLOWED_HOSTS="x")
    env.pop("SECRET_KEY", None)
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_development_generates_and_keeps_its_secret_key(tmp_path):
    env = dict(os.environ, PYRUN_DATA_DIR=str(tmp_path))
    env.pop("SECRET_KEY", None)
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    run = [sys.executable, "-c", f"import django; django.setup(); {code}"]
    env["DJANGO_SETTINGS_MODULE"] = "pyrun_web.settings"
    first = subprocess.run(run, capture_output=True, text=True, env=env, check=True).stdout
    second = subprocess.run(run, capture_output=True, text=True, env=env, check=True).stdout
    assert first == second and len(first.strip()) >= 50
    assert oct((tmp_path / "secrets" / "secret_key").stat().st_mode)[-3:] == "600"
