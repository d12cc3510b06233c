"""A small simulated world for serving tests: articles, readers, events, a model."""

import datetime
from dataclasses import dataclass

import numpy as np
from django.core.files.base import ContentFile
from django.utils import timezone

from cms.models import ArticlePage, Topic
from cms.services import live_content_touch
from recommend.engine.matrix import EVENT_TYPES, build_matrix, interaction_timestamps
from recommend.engine.simulate import simulate_readers
from recommend.engine.train import needs_timestamps, train_model
from recommend.models import Event, ModelVersion, Reader
from recommend.serving.state import serving_state_reset
from recommend.serving.trending import trending_reset
from tests.factories import SectionPageFactory, TopicFactory

SUBJECTS = [
    "astronomy",
    "baking",
    "cycling",
    "drama",
    "economics",
    "fishing",
    "geology",
    "hiking",
    "islands",
    "jazz",
]


@dataclass
class World:
    topics: list[Topic]
    articles: list[ArticlePage]
    article_topic: dict[int, int]  # page id -> topic index
    readers: list[Reader]
    preferences: np.ndarray  # [readers, topics]
    model_version: ModelVersion | None


def world_build(
    *,
    n_topics: int = 6,
    per_topic: int = 8,
    n_readers: int = 150,
    n_events: int = 6000,
    seed: int = 3,
    train: bool = True,
) -> World:
    section = SectionPageFactory(title="World", slug="world")
    topics = [
        TopicFactory(name=SUBJECTS[index].title(), slug=f"subject-{index}")
        for index in range(n_topics)
    ]
    articles, article_topic = [], {}
    for index in range(n_topics * per_topic):
        topic_index = index % n_topics
        # Published directly (no revision): a tenth of the factory's cost.
        article = ArticlePage(
            title=f"Story {index} about {SUBJECTS[topic_index]}",
            slug=f"story-{index}",
            standfirst=f"A piece on {SUBJECTS[topic_index]}, number {index}.",
            body=[("paragraph", "<p>Words.</p>")],
            published_date=datetime.date(2026, 1, 1),
            live=True,
            first_published_at=timezone.now(),
        )
        article.topics = [topics[topic_index]]
        section.add_child(instance=article)
        articles.append(article)
        article_topic[article.pk] = topic_index
    item_ids = np.array([article.pk for article in articles], dtype=np.int64)
    end = timezone.now().timestamp() - 3600
    simulated = simulate_readers(
        [[article_topic[pk]] for pk in item_ids],
        n_topics=n_topics,
        n_readers=n_readers,
        n_events=n_events,
        seed=seed,
        start=end - 20 * 86_400,
        end=end,
        item_ids=item_ids,
    )
    readers = Reader.objects.bulk_create(
        [Reader(external_id=f"sim-{index}") for index in range(n_readers)]
    )
    readers = list(Reader.objects.order_by("pk"))
    interactions = simulated.interactions
    codes = interactions.event_types
    if codes.dtype.kind not in "iu":
        names = codes
    else:
        names = np.array(EVENT_TYPES, dtype=object)[codes]
    Event.objects.bulk_create(
        [
            Event(
                reader_id=readers[int(reader)].pk,
                page_id=int(page),
                type=str(kind),
                value=float(value),
                occurred_at=datetime.datetime.fromtimestamp(
                    float(moment), datetime.UTC
                ),
                event_id=f"e{index}",
            )
            for index, (reader, page, kind, value, moment) in enumerate(
                zip(
                    interactions.reader_ids,
                    interactions.item_ids,
                    names,
                    interactions.values,
                    interactions.timestamps,
                    strict=True,
                )
            )
        ],
        batch_size=2000,
    )
    live_content_touch()
    version = model_train_activate() if train else None
    return World(
        topics=topics,
        articles=articles,
        article_topic=article_topic,
        readers=readers,
        preferences=simulated.preferences,
        model_version=version,
    )


def model_train_activate(
    algorithm: str = "als", params: dict | None = None
) -> ModelVersion:
    """Train on every event in the database and make it the active version."""
    from django.conf import settings

    from recommend.selectors import event_interaction_arrays

    arrays = event_interaction_arrays()
    built = build_matrix(
        arrays,
        weights=settings.RECOMMEND_EVENT_WEIGHTS,
        half_life_days=settings.RECOMMEND_HALF_LIFE_DAYS,
    )
    if params is None:
        params = {"factors": 16, "iterations": 15} if algorithm == "als" else {}
    timestamps = None
    if needs_timestamps(algorithm, params):
        timestamps = interaction_timestamps(arrays, built.id_map, built.matrix)
    model = train_model(
        built.matrix,
        algorithm=algorithm,
        params=params,
        id_map=built.id_map,
        timestamps=timestamps,
    )
    ModelVersion.objects.filter(status=ModelVersion.Status.ACTIVE).update(
        status=ModelVersion.Status.RETIRED
    )
    version = ModelVersion(
        algorithm=algorithm,
        parameters=model.params,
        status=ModelVersion.Status.ACTIVE,
        data_window_end=datetime.datetime.fromtimestamp(
            float(arrays.timestamps.max()), datetime.UTC
        ),
        promoted_at=timezone.now(),
    )
    version.artifact.save(f"test-{algorithm}.npz", ContentFile(model.to_bytes()))
    serving_state_reset()
    trending_reset()
    return version
