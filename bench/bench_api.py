"""API overhead: token auth, org resolution and tenant scoping per request vs a bare Django JSON view."""

from __future__ import annotations

from bench.harness import BenchEnv, Result, median_time

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

        baseline = median_time(many("/bare/"))
        for url in ("/api/v1/me/", "/api/v1/members/", "/api/v1/tokens/"):
            subject = median_time(many(url))
            results.append(Result(f"{REQUESTS} x GET {url}", subject, baseline, "bare Django view"))
    return results
