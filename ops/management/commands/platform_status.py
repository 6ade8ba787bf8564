import json

from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import filesizeformat

from ops.services import platform_status


class Command(BaseCommand):
    help = (
        "Print what the operator dashboard shows: health, workers and their tasks, queue depths, active jobs and "
        "builds, failures of the last 24 h by error id, storage. Exits 1 when the platform is down, 2 degraded."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true", dest="as_json", help="the dashboard's JSON snapshot")

    def handle(self, *args, as_json: bool, **options) -> None:
        status = platform_status(use_cache=False)
        if as_json:
            self.stdout.write(json.dumps(status, indent=2, sort_keys=True, default=str))
        else:
            self._print(status)
        health = status["health"]["status"]
        if health != "ok":
            raise CommandError(f"platform is {health}", returncode=1 if health == "down" else 2)

    def _print(self, s: dict) -> None:
        out = self.stdout.write
        out(f"platform: {s['health']['status']}")
        for name, check in s["health"]["checks"].items():
            detail = check.get("error") or (f"{check['ms']} ms" if "ms" in check else "")
            out(f"  {name:10} {'ok' if check.get('ok') else 'DOWN':5} {detail}")
        workers = s["workers"]
        if "error" in workers:
            out(f"workers: {workers['error']}")
        else:
            out(f"workers: {workers['alive']} alive")
            for worker in workers["workers"]:
                tasks = ", ".join(_task(t) for t in worker["tasks"]) or "idle"
                out(f"  {worker['name']} [{','.join(worker['queues'])}]: {tasks}")
        queues = s["queues"]
        out("queues: " + (queues["error"] if "error" in queues else ", ".join(f"{k}={v}" for k, v in queues.items())))
        jobs = s["jobs"]
        if "error" in jobs:
            out(f"jobs: {jobs['error']}")
        else:
            out("jobs: " + ", ".join(f"{n} {state}" for state, n in jobs["counts"].items()))
            for job in jobs["jobs"]:
                out(f"  #{job['id']} {job['state']:9} {job['org']}/{job['workspace']} {job['entrypoint']} "
                    f"({job['backend']}) {job['worker']}")  # fmt: skip
        builds = s["builds"]
        if "error" not in builds:
            out(f"builds in progress: {builds['count']}")
            for build in builds["builds"]:
                out(f"  runtime {build['id']} {build['state']} {build['org']} {build['builder']} {build['spec_hash']}")
        failures = s["failures"]
        if "error" not in failures:
            out(f"failures, last {failures['hours']} h: {failures['total']}")
            for row in failures["errors"]:
                out(f"  {row['count']:5} {row['kind']:5} {row['error_id']}")
        storage = s["storage"]
        if "error" not in storage:
            for name, root in storage["roots"].items():
                size = "not measured" if root["bytes"] is None else filesizeformat(root["bytes"])
                out(f"storage {name}: {size} ({root['path']})")
            disk = storage["disk"]
            out(f"disk free: {filesizeformat(disk['free_bytes'])} of {filesizeformat(disk['total_bytes'])}")


def _task(task: dict) -> str:
    what = f"job {task['job']}" if "job" in task else f"build {task['runtime']}" if "runtime" in task else task["name"]
    return f"{what} ({task['seconds']} s)" if "seconds" in task else what
