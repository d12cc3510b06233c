"""gunicorn settings for `make run`: bound to PORT, sized to the machine."""

import multiprocessing
import os

bind = f"{os.environ.get('BIND_HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
# One process per core does the numpy work of feeds; two threads each keep a core
# busy while another request waits on the database or the cache.
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, multiprocessing.cpu_count())))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
# Building the serving state of a large catalogue takes seconds on a busy machine.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "300"))
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None


def post_worker_init(worker):
    """Build the serving state (live catalogue, active model) and read every
    live item's card before the worker's first request rather than during it:
    a second or two at 50k items, which otherwise lands on the first feeds of
    every new worker (and cards read per request for minutes after)."""
    from django.db import connections

    try:
        from recommend.serving.cards import cards_warm_now
        from recommend.serving.state import serving_state

        cards_warm_now(serving_state().catalogue)
    except Exception:  # noqa: BLE001 - e.g. not migrated yet: the first feed builds it
        worker.log.exception("Serving state not built at start; the first feed will")
    finally:
        connections.close_all()
