"""Liveness and readiness probes answer JSON and tell what is missing."""

import pytest
from django.test import Client


def test_healthz_is_json_ok():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_503_without_a_worker():
    # given: database migrated, no django-q2 cluster running
    # when
    response = Client().get("/readyz")
    # then
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "not_ready"
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["migrations"] == {"ok": True, "pending": 0}
    assert body["checks"]["worker"]["ok"] is False


def test_readyz_is_200_with_a_running_worker(q_worker):
    # given: a real django-q2 cluster on the test database (fixture)
    # when
    response = Client().get("/readyz")
    # then
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ready"
    assert body["checks"]["worker"] == {"ok": True, "clusters": 1}
