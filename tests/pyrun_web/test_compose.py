"""The production stack file stays coherent with the launcher (no docker engine here to run it)."""

from pathlib import Path

import yaml

from pyrun_web.launcher import main as launcher_main

ROOT = Path(__file__).resolve().parents[2]


def test_compose_runs_every_platform_process_from_one_image_against_postgres_and_redis():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "web", "worker", "beat"} <= set(services)
    for name in ("migrate", "web", "worker", "beat"):
        service = services[name]
        assert service["image"] == "pyrun-web:latest"
        env = service["environment"]
        assert env["PYRUN_ENV"] == "production"
        assert env["DATABASE_URL"].startswith("postgres://") and env["REDIS_URL"].startswith("redis://")
        assert service["command"][0] in {"migrate", "web", "worker", "beat"}


def test_compose_commands_are_launcher_subcommands(capsys):
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name in ("migrate", "web", "worker", "beat"):
        try:
            launcher_main([*compose["services"][name]["command"], "--help"])
        except SystemExit as exc:
            assert exc.code == 0, name
    healthcheck = compose["services"]["web"]["healthcheck"]["test"]
    assert healthcheck[1:] == ["pyrun-web", "healthcheck"]
