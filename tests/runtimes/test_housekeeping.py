"""GC of unused runtimes (rows and files), orphaned folders, the stale-build reaper, task names and routing."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from runtimes import cleanup, layout, services
from runtimes.models import Runtime
from runtimes.spec import parse_environment
from tests.runtimes.conftest import IDNA, SIX
from tests.tenants import TenantTest


class TestGarbageCollection(TenantTest):
    @pytest.mark.slow
    def test_gc_deletes_runtimes_unused_for_the_period_with_their_files(self, inline_builds):
        old = services.ensure_runtime(self.t.org, parse_environment(SIX), "local")
        recent = services.ensure_runtime(self.t.org, parse_environment(IDNA), "local")
        old.refresh_from_db()
        recent.refresh_from_db()
        long_ago = timezone.now() - timedelta(days=settings.PYRUN_RUNTIME_GC_DAYS + 1)
        Runtime.objects.filter(pk=old.pk).update(last_used_at=long_ago)
        old_dir, final = old.build_dir, layout.final_prefix(old.org_id, old.spec_hash)
        orphan = layout.builds_root() / "999999-deadbeef"
        orphan.mkdir()
        os.utime(orphan, (long_ago.timestamp(), long_ago.timestamp()))
        assert cleanup.collect_garbage() == 1
        assert list(Runtime.objects.values_list("pk", flat=True)) == [recent.pk]
        assert not old_dir.exists() and not final.exists() and not orphan.exists()
        assert recent.build_dir.exists()

    def test_gc_keeps_building_runtimes_however_old(self, sent_builds, transactional_db):
        runtime = services.ensure_runtime(self.t.org, parse_environment(SIX), "local")
        Runtime.objects.filter(pk=runtime.pk).update(created_at=timezone.now() - timedelta(days=365))
        assert cleanup.collect_garbage() == 0
        assert Runtime.objects.filter(pk=runtime.pk).exists()


def test_tasks_have_stable_names_and_builds_their_own_queue():
    from pyrun_web.celery import app

    app.loader.import_default_modules()
    for name in ("runtimes.build", "runtimes.gc", "runtimes.reap"):
        assert name in app.tasks
    assert app.amqp.router.route({}, "runtimes.build")["queue"].name == "builds"
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"runtimes.gc", "runtimes.reap"} <= scheduled


class TestAdmin(TenantTest):
    def test_rebuild_action_queues_builds(self, client, sent_builds, transactional_db):
        self.t.owner.is_staff = self.t.owner.is_superuser = True
        self.t.owner.save()
        client.force_login(self.t.owner)
        runtime = services.ensure_runtime(self.t.org, parse_environment(SIX), "local")
        services.cancel(runtime)
        url = reverse("admin:runtimes_runtime_changelist")
        response = client.post(url, {"action": "rebuild", "_selected_action": [runtime.pk]}, follow=True)
        assert response.status_code == 200
        assert "Queued 1 rebuild(s)" in response.content.decode()
        runtime.refresh_from_db()
        assert runtime.state == Runtime.State.PENDING and len(sent_builds) == 2
        page = client.get(reverse("admin:runtimes_runtime_change", args=[runtime.pk]))
        assert page.status_code == 200 and runtime.spec_hash in page.content.decode()
