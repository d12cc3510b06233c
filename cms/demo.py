"""Demo content: the shipped original articles, and machine-made ones for scale."""

import datetime
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.db import transaction
from django.utils.html import escape

from cms.models import ArticlePage, Author, SectionPage, Topic
from cms.services import (
    article_create,
    author_ensure,
    cover_image_create,
    home_page_ensure,
    section_ensure,
    topic_ensure,
)

DEMO_DATA_DIR = Path(__file__).resolve().parent / "demo_data"
SYNTHETIC_PREFIX = "synthetic-"


@dataclass
class SeedReport:
    sections: int = 0
    topics: int = 0
    authors: int = 0
    articles_created: int = 0
    articles_existing: int = 0


def _load_json(name: str):
    return json.loads((DEMO_DATA_DIR / name).read_text(encoding="utf-8"))


def demo_articles_read() -> list[dict]:
    """Every shipped article record, in a stable order (section, then date)."""
    records: list[dict] = []
    for path in sorted((DEMO_DATA_DIR / "articles").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                records.append(json.loads(line))
    return sorted(records, key=lambda record: (record["section"], record["published"]))


def _body_blocks(record: dict, *, previous: ArticlePage | None) -> list:
    blocks: list[tuple[str, object]] = []
    for block in record["body"]:
        if block["type"] == "paragraph":
            blocks.append(("paragraph", f"<p>{escape(block['text'])}</p>"))
        elif block["type"] == "heading":
            blocks.append(("heading", block["text"]))
        elif block["type"] == "quote":
            blocks.append(
                (
                    "quote",
                    {
                        "text": block["text"],
                        "attribution": block.get("attribution", ""),
                    },
                )
            )
    if previous is not None:
        blocks.append(
            (
                "article_link",
                {"page": previous, "label": f"Read next: {previous.title}"},
            )
        )
    return blocks


def demo_content_seed(
    *, progress: Callable[[Iterable], Iterable] = lambda items: items
) -> SeedReport:
    """Build the site tree and the shipped articles; a second run changes nothing."""
    report = SeedReport()
    home = home_page_ensure()
    sections: dict[str, SectionPage] = {}
    for record in _load_json("sections.json"):
        sections[record["slug"]] = section_ensure(
            home=home, slug=record["slug"], title=record["title"], intro=record["intro"]
        )
    topics: dict[str, Topic] = {
        record["slug"]: topic_ensure(name=record["name"], slug=record["slug"])
        for record in _load_json("topics.json")
    }
    authors: dict[str, Author] = {
        record["slug"]: author_ensure(
            name=record["name"], slug=record["slug"], bio=record["bio"]
        )
        for record in _load_json("authors.json")
    }
    report.sections, report.topics, report.authors = (
        len(sections),
        len(topics),
        len(authors),
    )
    previous_in_section: dict[str, ArticlePage] = {}
    for record in progress(demo_articles_read()):
        section = sections[record["section"]]
        existing = (
            ArticlePage.objects.child_of(section).filter(slug=record["slug"]).first()
        )
        if existing is not None:
            report.articles_existing += 1
            previous_in_section[record["section"]] = existing
            continue
        with transaction.atomic():
            article = article_create(
                section=section,
                slug=record["slug"],
                title=record["title"],
                standfirst=record["standfirst"],
                body=_body_blocks(
                    record, previous=previous_in_section.get(record["section"])
                ),
                topics=[topics[slug] for slug in record["topics"]],
                author=authors[record["author"]],
                published_date=datetime.date.fromisoformat(record["published"]),
                hero_image=cover_image_create(
                    title=record["title"], label=section.title
                ),
                attribution="Demo content written for this project",
                external_id=f"demo:{record['slug']}",
            )
        previous_in_section[record["section"]] = article
        report.articles_created += 1
    return report


SYNTHETIC_OPENINGS = [
    "What {topic} teaches us about {other}",
    "A practical guide to {topic}",
    "Five questions about {topic} and {other}",
    "The quiet revolution in {topic}",
    "Why {topic} matters more than ever",
    "How {other} is reshaping {topic}",
    "Notes on {topic} from the field",
    "Getting started with {topic}",
]
SYNTHETIC_SENTENCES = [
    "People who follow {topic} say the last year changed more than the decade before.",
    "The link between {topic} and {other} is easy to miss and hard to forget.",
    "Small, steady improvements in {topic} add up faster than headlines suggest.",
    "Anyone new to {topic} should start with the basics and ask plenty of questions.",
    "Critics of the current approach to {other} point to gaps that {topic} could fill.",
    "There is no single answer, but the direction of travel in {topic} is clear.",
    "Readers interested in {other} will find much here that feels familiar.",
    "The next few months will show whether the promise of {topic} holds up.",
]


def demo_synthetic_add(
    *,
    count: int,
    seed: int = 7,
    progress: Callable[[Iterable], Iterable] = lambda items: items,
) -> int:
    """Add `count` machine-made articles (numbered after the existing ones).

    They are published directly, without revisions or covers, so that tens of
    thousands can be made for scale tests in minutes.
    """
    home = home_page_ensure()
    sections = list(SectionPage.objects.child_of(home).live().order_by("path"))
    topics = list(Topic.objects.order_by("pk"))
    if not sections or not topics:
        raise ValueError("Run seed_demo without --synthetic first: no sections yet.")
    start = ArticlePage.objects.filter(slug__startswith=SYNTHETIC_PREFIX).count()
    generator = np.random.default_rng(seed + start)
    today = datetime.date.today()
    for number in progress(range(start, start + count)):
        chosen = generator.choice(len(topics), size=2, replace=False)
        topic, other = topics[chosen[0]], topics[chosen[1]]
        words = {"topic": topic.name.lower(), "other": other.name.lower()}
        title = SYNTHETIC_OPENINGS[number % len(SYNTHETIC_OPENINGS)].format(**words)
        sentences = generator.choice(len(SYNTHETIC_SENTENCES), size=5, replace=False)
        text = " ".join(SYNTHETIC_SENTENCES[i].format(**words) for i in sentences)
        section = sections[number % len(sections)]
        article = ArticlePage(
            title=f"{title[0].upper()}{title[1:]} ({number + 1})",
            slug=f"{SYNTHETIC_PREFIX}{number + 1}",
            standfirst=SYNTHETIC_SENTENCES[sentences[0]].format(**words),
            body=[("paragraph", f"<p>{escape(text)}</p>")],
            published_date=today
            - datetime.timedelta(days=int(generator.integers(0, 730))),
            attribution="Synthetic content for scale tests",
            external_id=f"{SYNTHETIC_PREFIX}{number + 1}",
        )
        article.topics = [topic, other]
        section.add_child(instance=article)
    return count
