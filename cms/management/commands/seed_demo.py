"""manage.py seed_demo: the demo site tree and articles (idempotent)."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from cms.demo import demo_content_seed, demo_synthetic_add


class Command(BaseCommand):
    help = (
        "Build the demo site (home, sections, topics, authors) and its 104 original "
        "articles with generated covers. Running it again changes nothing. "
        "--synthetic N adds N further machine-made articles for scale tests."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--synthetic",
            type=int,
            default=0,
            metavar="N",
            help="Also add N machine-made articles (each run adds N more).",
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="Hide the progress bar."
        )

    def _progress(self, items, *, description: str, disable: bool):
        return tqdm(items, desc=description, unit="article", disable=disable)

    def handle(self, *args, synthetic: int, no_progress: bool, **options):
        if synthetic < 0:
            raise CommandError("--synthetic must be zero or more.")
        quiet = no_progress or options["verbosity"] == 0
        report = demo_content_seed(
            progress=lambda items: self._progress(
                items, description="Demo articles", disable=quiet
            )
        )
        self.stdout.write(
            f"Demo content: {report.sections} sections, {report.topics} topics, "
            f"{report.authors} authors, {report.articles_created} articles created, "
            f"{report.articles_existing} already present."
        )
        if synthetic:
            try:
                added = demo_synthetic_add(
                    count=synthetic,
                    progress=lambda items: self._progress(
                        items, description="Synthetic articles", disable=quiet
                    ),
                )
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(f"Synthetic articles added: {added}.")
