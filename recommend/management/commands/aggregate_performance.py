"""manage.py aggregate_performance: (re)write the daily performance aggregates."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from recommend.audiences.performance import performance_aggregate_recent


class Command(BaseCommand):
    help = (
        "Write the per-article and per-audience daily performance aggregates that "
        "the editors' report reads: today, yesterday and any day of the last --days "
        "never aggregated (every day with --rewrite), then the 7/30/90-day totals. "
        "The scheduled job does the same every few minutes; running it twice "
        "changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=90,
            metavar="N",
            help="Look back N days, today included (default 90).",
        )
        parser.add_argument(
            "--rewrite",
            action="store_true",
            help="Rewrite every day of the window, not only missing ones.",
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="Hide the progress bar."
        )

    def handle(self, *args, days, rewrite, no_progress, **options):
        if days < 1:
            raise CommandError("--days must be at least 1")
        quiet = no_progress or options["verbosity"] == 0
        written = performance_aggregate_recent(
            days=days,
            rewrite=rewrite,
            progress=lambda todo: tqdm(
                todo, desc="days", unit="day", disable=quiet, leave=False
            ),
        )
        self.stdout.write(f"aggregated {written} day(s)")
