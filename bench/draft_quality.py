"""Draft quality: what an editor would have to fix in the offline composer's drafts.

Run from the repository root:

    .venv/bin/python bench/draft_quality.py [--target-words 600] [--topics 40]

It migrates a throwaway SQLite database in a temporary directory (deleted at the
end) and loads the demo articles as `seed_demo` does (text and quotes, no covers).
For each of the 40 demo topics it writes a brief (that topic, its section, the
target length), retrieves its sources once and drafts it twice from the same
sources: with the composer of `--baseline-ref` (read from git: "before") and with
the current one ("after"). Each draft goes through the pipeline's checks, then:

- length error: |words - target| / target, words as the checks count them;
- repeated link texts: links whose text (any case) was already used in the draft;
- dangling openings: sentences opening on a reference ("It", "These", "However",
  "For example"...) that do not follow, in the draft, the sentence they follow
  in their source;
- linked sentences: the share of the body's sentences carrying a source link;
- near-duplicate: TF-IDF cosine of the draft to its closest source (1 = a copy);
- readability: Flesch reading ease of the body (textstat; higher is easier);
- write: the median time of the provider's write (prompt included).

Prints human lines, then one JSON line.
"""

import argparse
import html
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ANCHOR = re.compile(r"<a [^>]*>(.*?)</a>", re.DOTALL)
# The bench's own list, so the composer is measured, not trusted.
REFERRING = set(
    """it its it's they they're their theirs them this these that those he she his
    her hers him such both another either neither here but and so also yet still
    however instead meanwhile likewise similarly nevertheless nonetheless thus
    therefore hence then otherwise besides moreover furthermore indeed
    conversely accordingly consequently later afterwards too""".split()
)
REFERRING_PHRASES = (
    "as a result",
    "for example",
    "for instance",
    "in other words",
    "even so",
    "on the other hand",
    "at the same time",
    "by contrast",
    "in turn",
    "in short",
    "the same",
    "the latter",
    "the former",
    "the other",
)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target-words", type=int, default=600)
    parser.add_argument(
        "--baseline-ref",
        default="61f1a66",
        help="git commit whose generation/providers/composer.py is 'before'",
    )
    parser.add_argument("--topics", type=int, default=40)
    return parser.parse_args()


def _django_setup(directory: Path) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "cms.settings.dev",
            "DATABASE_URL": f"sqlite:///{directory / 'bench.sqlite3'}",
            "MEDIA_ROOT": str(directory / "media"),
            "DEBUG": "false",
            "GENERATION_TEXT_PROVIDER": "composer",
            "GENERATION_IMAGE_PROVIDER": "none",
            "LOG_LEVEL": "WARNING",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("createcachetable", verbosity=0)


def _articles_load() -> None:
    """The demo articles as live pages, with their quotes, without covers."""
    from django.utils.html import escape

    from cms.demo import DEMO_DATA_DIR, demo_articles_read
    from cms.services import (
        article_create,
        home_page_ensure,
        section_ensure,
        topic_ensure,
    )

    home = home_page_ensure()
    sections = {
        record["slug"]: section_ensure(
            home=home, slug=record["slug"], title=record["title"]
        )
        for record in json.loads((DEMO_DATA_DIR / "sections.json").read_text())
    }
    topics = {
        record["slug"]: topic_ensure(name=record["name"], slug=record["slug"])
        for record in json.loads((DEMO_DATA_DIR / "topics.json").read_text())
    }
    for record in demo_articles_read():
        body = []
        for block in record["body"]:
            if block["type"] == "paragraph":
                body.append(("paragraph", f"<p>{escape(block['text'])}</p>"))
            elif block["type"] == "heading":
                body.append(("heading", block["text"]))
            elif block["type"] == "quote":
                body.append(("quote", {"text": block["text"], "attribution": ""}))
        article_create(
            section=sections[record["section"]],
            slug=record["slug"],
            title=record["title"],
            standfirst=record["standfirst"],
            body=body,
            topics=[topics[slug] for slug in record["topics"] if slug in topics],
        )


def _baseline_provider(ref: str):
    """The composer as it was at `ref`, loaded from git as its own module."""
    source = subprocess.run(
        ["git", "show", f"{ref}:generation/providers/composer.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    module = types.ModuleType("composer_baseline")
    exec(compile(source, f"{ref}:composer.py", "exec"), module.__dict__)  # noqa: S102
    return module.ComposerTextProvider()


def _plain(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _refers_back(sentence: str) -> bool:
    lowered = sentence.lower().lstrip("\"'“‘(")
    first = re.split(r"[\s,;:]+", lowered, maxsplit=1)[0].strip(".,;:!?\"'”’")
    return first in REFERRING or any(
        lowered.startswith(phrase + " ") or lowered.startswith(phrase + ",")
        for phrase in REFERRING_PHRASES
    )


def _predecessors(sources) -> dict[str, str | None]:
    """Each source sentence (by its opening) -> the sentence before it, if any."""
    from generation.similarity import text_sentences

    before: dict[str, str | None] = {}
    for source in sources:
        for paragraph in source.text.split("\n"):
            previous = None
            for sentence in text_sentences(paragraph):
                before.setdefault(sentence[:60], previous)
                previous = sentence
    return before


def _dangling(text: str, previous: str | None, before: dict) -> bool:
    """An opening reference whose sentence-before from the source is not before it.

    The draft may weave a link into that sentence ("According to X, ..." or
    "..., as X explains."), so its words are compared, not its opening."""
    if not _refers_back(text):
        return False
    source_previous = before.get(text[:60])
    if previous is None or source_previous is None:
        return True
    return source_previous.rstrip(".").lower()[1:] not in _plain(previous).lower()


def _measure(checked, sources, candidates, target: int) -> dict:
    import textstat

    from generation.similarity import (
        TfidfSpace,
        cosine_similarities,
        text_sentences,
        text_terms,
    )

    paragraphs = [str(value) for kind, value in checked.body if kind == "paragraph"]
    links = [_plain(text).lower() for p in paragraphs for text in ANCHOR.findall(p)]
    repeated = len(links) - len(set(links))
    before = _predecessors(sources)
    sentences, linked, dangling = 0, 0, 0
    for paragraph in paragraphs:
        # Sentences with their markup, so links can be seen per sentence.
        previous = None
        for sentence in text_sentences(re.sub(r"</?(p|ol|ul|li)>", " ", paragraph)):
            sentences += 1
            linked += "<a " in sentence
            dangling += _dangling(_plain(sentence), previous, before)
            previous = sentence
    prose = " ".join(_plain(p) for p in paragraphs)
    terms = [text_terms(f"{doc.title} {doc.text}") for doc in candidates]
    draft_terms = text_terms(prose)
    space = TfidfSpace(terms + [draft_terms])
    similarity = cosine_similarities(space.vectors([draft_terms]), space.vectors(terms))
    return {
        "words": checked.word_count,
        "length_error": abs(checked.word_count - target) / target,
        "repeated_link_texts": repeated,
        "dangling_openings": dangling,
        "linked_share": linked / max(1, sentences),
        "near_duplicate": float(similarity.max()),
        "readability": textstat.flesch_reading_ease(prose),
    }


def _summary(rows: list[dict]) -> dict:
    errors = [row["length_error"] for row in rows]
    return {
        "drafts": len(rows),
        "length_error_median": round(statistics.median(errors), 4),
        "length_error_max": round(max(errors), 4),
        "within_15_percent": sum(error <= 0.15 for error in errors),
        "repeated_link_texts": sum(row["repeated_link_texts"] for row in rows),
        "dangling_openings": sum(row["dangling_openings"] for row in rows),
        "linked_share_mean": round(statistics.mean(r["linked_share"] for r in rows), 4),
        "near_duplicate_mean": round(
            statistics.mean(r["near_duplicate"] for r in rows), 4
        ),
        "readability_mean": round(statistics.mean(r["readability"] for r in rows), 2),
        "write_median_s": round(statistics.median(r["write_s"] for r in rows), 4),
    }


def main() -> None:
    arguments = _arguments()
    directory = Path(tempfile.mkdtemp(prefix="bench-draft-quality-"))
    try:
        _django_setup(directory)
        _articles_load()
        from cms.demo import DEMO_DATA_DIR
        from cms.models import SectionPage, Topic
        from generation.pipeline.checks import draft_check
        from generation.pipeline.retrieve import sources_retrieve
        from generation.pipeline.write import draft_write
        from generation.providers.composer import ComposerTextProvider
        from generation.services import brief_create

        variants = {
            "before": _baseline_provider(arguments.baseline_ref),
            "after": ComposerTextProvider(),
        }
        results: dict[str, list[dict]] = {name: [] for name in variants}
        sections = {section.slug: section for section in SectionPage.objects.all()}
        records = json.loads((DEMO_DATA_DIR / "topics.json").read_text())
        for record in records[: arguments.topics]:
            brief = brief_create(
                topic=record["name"],
                section=sections[record["section"]],
                topics=[Topic.objects.get(slug=record["slug"])],
                target_words=arguments.target_words,
                origin="bench",
            )
            retrieval = sources_retrieve(brief=brief)
            for name, provider in variants.items():
                started = time.perf_counter()
                draft, _ = draft_write(
                    provider=provider, brief=brief, sources=retrieval.sources
                )
                elapsed = time.perf_counter() - started
                checked = draft_check(draft=draft, retrieval=retrieval)
                row = _measure(
                    checked,
                    retrieval.sources,
                    retrieval.candidates,
                    arguments.target_words,
                )
                results[name].append({**row, "write_s": elapsed})
        report = {
            "bench": "draft_quality",
            "target_words": arguments.target_words,
            "baseline_ref": arguments.baseline_ref,
            **{name: _summary(rows) for name, rows in results.items()},
        }
        for name in variants:
            summary = report[name]
            print(
                f"{name:>6}: length error median {summary['length_error_median']:.1%} "
                f"(max {summary['length_error_max']:.1%}, "
                f"{summary['within_15_percent']}/{summary['drafts']} within 15%), "
                f"repeated link texts {summary['repeated_link_texts']}, "
                f"dangling openings {summary['dangling_openings']}, "
                f"linked sentences {summary['linked_share_mean']:.0%}, "
                f"near-duplicate {summary['near_duplicate_mean']:.2f}, "
                f"readability {summary['readability_mean']:.1f}, "
                f"write {summary['write_median_s'] * 1000:.0f} ms"
            )
        print(json.dumps(report))
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
