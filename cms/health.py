"""Liveness and readiness probes for load balancers and orchestrators."""

import time

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django_q.status import Stat

WORKER_FRESH_SECONDS = 60


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database_check() -> dict:
    try:
        connection = connections[DEFAULT_DB_ALIAS]
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:  # any driver error means "not ready", never a 500
        return {"database": {"ok": False, "error": str(exc)[:200]}}
    return {
        "database": {"ok": True},
        "migrations": {"ok": not pending, "pending": len(pending)},
    }


def _worker_check() -> dict:
    try:
        stats = Stat.get_all()
    except Exception as exc:
        return {"ok": False, "error": str(exc)[:200]}
    now = time.time()
    fresh = [
        stat
        for stat in stats
        if stat.tob and now - stat.timestamp.timestamp() <= WORKER_FRESH_SECONDS
    ]
    return {"ok": bool(fresh), "clusters": len(fresh)}


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    checks = _database_check()
    if checks["database"]["ok"]:
        checks["worker"] = _worker_check()
    ready = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status=200 if ready else 503,
    )
