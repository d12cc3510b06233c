"""make run's gunicorn configuration: each worker is warm before its first request."""

import importlib.util
import logging

from django.conf import settings

from recommend.serving import state as serving
from tests.factories import ArticlePageFactory


def _configuration():
    path = settings.BASE_DIR / "cms" / "gunicorn_conf.py"
    spec = importlib.util.spec_from_file_location("gunicorn_conf", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Worker:
    log = logging.getLogger("gunicorn.error")


def test_a_worker_builds_its_serving_state_before_its_first_request(
    transactional_db, monkeypatch
):
    # given: live articles, and a fresh worker process (no serving state yet)
    articles = [ArticlePageFactory() for _ in range(3)]
    serving.serving_state_reset()
    assert serving._holder.state is None
    # when: gunicorn calls the hook after loading the application
    _configuration().post_worker_init(_Worker())
    # then: the state is there, with the live catalogue
    built = serving._holder.state
    assert built is not None
    assert {article.pk for article in articles} <= set(
        built.catalogue.item_ids.tolist()
    )


def test_a_worker_whose_state_cannot_be_built_yet_still_starts(
    transactional_db, monkeypatch, caplog
):
    # given: a database the state cannot be read from (not migrated, say)
    def unavailable():
        raise RuntimeError("no such table: recommend_modelversion")

    monkeypatch.setattr(serving, "serving_state", unavailable)
    # when
    with caplog.at_level(logging.ERROR, logger="gunicorn.error"):
        _configuration().post_worker_init(_Worker())
    # then: the worker goes on (its first feed builds the state) and says why
    assert "Serving state not built at start" in caplog.text
    assert "no such table" in caplog.text


def test_a_worker_reads_every_card_before_its_first_request(transactional_db, settings):
    # given: card warming on (as deployed) and a fresh worker
    settings.RECOMMEND_CARDS_WARM = True
    articles = [ArticlePageFactory(standfirst=f"Standfirst {n}") for n in range(4)]
    serving.serving_state_reset()
    # when
    _configuration().post_worker_init(_Worker())
    # then: every live item's card is there, ready for the first feed
    catalogue = serving._holder.state.catalogue
    assert set(catalogue.cards) == set(range(len(catalogue)))
    rows = catalogue.positions([article.pk for article in articles]).tolist()
    assert [catalogue.cards[row]["standfirst"] for row in rows] == [
        f"Standfirst {n}" for n in range(4)
    ]


def test_a_catalogue_past_the_warm_limit_is_left_to_requests(
    transactional_db, settings
):
    # given: more live items than a process is allowed to keep cards for
    settings.RECOMMEND_CARDS_WARM = True
    settings.RECOMMEND_CARDS_WARM_MAX_ITEMS = 2
    for _ in range(3):
        ArticlePageFactory()
    serving.serving_state_reset()
    # when
    _configuration().post_worker_init(_Worker())
    # then: the worker started without reading cards
    assert serving._holder.state.catalogue.cards == {}
