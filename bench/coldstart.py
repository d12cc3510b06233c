"""Cold start: how much of its audience a just-published article reaches, untrained.

Run from the repository root:

    .venv/bin/python bench/coldstart.py [--readers 3000 --events 120000 --seed 5]

Builds a throwaway SQLite database with the demo site (104 articles, 40 topics),
simulated readers with known topic preferences (recommend/engine/simulate.py),
trains and activates an ALS model, then publishes one new article for each of 8
topics *without retraining*. For each new article, its intended audience is the
readers whose strongest preference is its topic; the figure is the fraction of that
audience whose top-20 feed contains it (target >= 0.5). The fraction of readers
with almost no interest in the topic (< 2% preference) who get it is printed too,
as a check that the article is targeted rather than pushed to everyone.
Prints human lines, then one JSON line.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.5


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=3000)
    parser.add_argument("--events", type=int, default=120_000)
    parser.add_argument("--topics", type=int, default=8, help="new articles")
    parser.add_argument("--seed", type=int, default=5)
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    database = Path(tempfile.mkdtemp(prefix="bench-coldstart-")) / "db.sqlite3"
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cms.settings.dev")
    os.environ["MEDIA_ROOT"] = str(database.parent / "media")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import numpy as np
    from django.conf import settings
    from django.core.management import call_command

    from cms.models import ArticlePage, SectionPage, Topic
    from cms.services import article_create
    from recommend.events.simulation import reader_simulation_create
    from recommend.serving.feeds import feed_for_reader
    from recommend.serving.state import serving_state_reset
    from recommend.training.service import model_version_train

    settings.RECOMMEND_STAMP_CHECK_SECONDS = 0
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    call_command("seed_demo", "--no-progress", verbosity=0)
    started = time.perf_counter()
    simulation = reader_simulation_create(
        readers=args.readers, events=args.events, seed=args.seed
    )
    print(
        f"simulated {simulation.events_created} events in "
        f"{time.perf_counter() - started:.1f} s"
    )
    version = model_version_train(algorithm="als", force=True)
    print(f"trained {version.algorithm} #{version.pk}: {version.status}")
    serving_state_reset()

    preferences = simulation.preferences
    favourite = preferences.argmax(axis=1)
    rng = np.random.default_rng(args.seed)
    topic_positions = rng.choice(
        len(simulation.topic_ids), size=args.topics, replace=False
    )
    results = []
    for position in topic_positions.tolist():
        topic = Topic.objects.get(pk=simulation.topic_ids[position])
        example = ArticlePage.objects.live().filter(topics=topic).first()
        section = example.get_parent().specific
        assert isinstance(section, SectionPage)
        article = article_create(
            section=section,
            title=f"New this week: {topic.name.lower()} explained",
            standfirst=example.standfirst,
            body=[("paragraph", f"<p>{example.standfirst}</p>")],
            topics=[topic],
        )
        audience = np.flatnonzero(favourite == position)
        uninterested = np.flatnonzero(preferences[:, position] < 0.02)

        def reach(readers: np.ndarray, article_pk: int = article.pk) -> float:
            if len(readers) == 0:
                return float("nan")
            hits = 0
            for reader in readers.tolist():
                external_id = simulation.reader_external_ids[reader]
                feed = feed_for_reader(external_id=external_id, n=20)
                hits += article_pk in {item.id for item in feed.items}
            return hits / len(readers)

        sample = rng.choice(
            uninterested, size=min(300, len(uninterested)), replace=False
        )
        result = {
            "topic": topic.slug,
            "audience": int(len(audience)),
            "reach": round(reach(audience), 3),
            "uninterested_reach": round(reach(sample), 3),
        }
        results.append(result)
        print(result)
    weighted = sum(r["reach"] * r["audience"] for r in results) / max(
        sum(r["audience"] for r in results), 1
    )
    summary = {
        "audience_reach": round(weighted, 3),
        "min_topic_reach": min(r["reach"] for r in results),
        "uninterested_reach": round(
            float(np.mean([r["uninterested_reach"] for r in results])), 3
        ),
        "target": TARGET,
        "readers": args.readers,
        "events": args.events,
        "topics": results,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
