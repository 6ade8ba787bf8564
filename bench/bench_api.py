"""API overhead: token auth, org resolution and tenant scoping per request vs a bare Django JSON view."""

from __future__ import annotations

import statistics

from bench.harness import BenchEnv, Result, timed_runs

REQUESTS = 200


def run(env: BenchEnv) -> list[Result]:
    from django.http import JsonResponse
    from django.test import Client, override_settings
    from django.urls import path

    from pyrun_web import urls as platform_urls
    from pyrun_web.tenancy.services import create_tenant

    _, _, key = create_tenant("bench", "bench@example.com")

    def bare(request):
        return JsonResponse({"user": {"id": 1, "email": "bench@example.com"}, "role": "owner"})

    class BenchUrls:
        urlpatterns = [path("bare/", bare), *platform_urls.urlpatterns]

    results = []
    with override_settings(ROOT_URLCONF=BenchUrls):
        client = Client(HTTP_AUTHORIZATION=f"Token {key}")

        def many(url):
            return lambda: [client.get(url) for _ in range(REQUESTS)]

        rounds = env.rounds(3, 15)
        baseline = timed_runs(many("/bare/"), repeat=rounds)
        for url in ("/api/v1/me/", "/api/v1/members/", "/api/v1/tokens/"):
            subject = timed_runs(many(url), repeat=rounds)
            results.append(Result(f"{REQUESTS} x GET {url}", statistics.median(subject), statistics.median(baseline),
                                  "bare Django view", subject_runs=subject, baseline_runs=baseline))  # fmt: skip
    return results
