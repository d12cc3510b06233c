"""manage.py simulate_readers: seeded simulated readers and their events."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from recommend.services.simulation import reader_simulation_create


class Command(BaseCommand):
    help = (
        "Create simulated readers (sim-0, sim-1, ...) with topic preferences and "
        "store their events over the live articles, spread over the last --days "
        "days. The same --seed, --readers and --events give the same traffic, "
        "and running it again adds nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--readers", type=int, default=500, metavar="N")
        parser.add_argument("--events", type=int, default=30_000, metavar="M")
        parser.add_argument("--seed", type=int, default=42, metavar="S")
        parser.add_argument(
            "--days",
            type=float,
            default=30.0,
            metavar="D",
            help="Spread the events over the last D days (default 30).",
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="Hide the progress bar."
        )

    def handle(self, *args, readers, events, seed, days, no_progress, **options):
        quiet = no_progress or options["verbosity"] == 0
        try:
            report = reader_simulation_create(
                readers=readers,
                events=events,
                seed=seed,
                days=days,
                progress=lambda total, description: tqdm(
                    total=total, desc=description, unit="event", disable=quiet
                ),
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Simulated {report.readers} readers ({report.readers_created} new) "
            f"over {len(report.page_ids)} live articles and "
            f"{len(report.topic_ids)} topics: {report.events_created} of "
            f"{report.events} events created in {report.seconds:.1f} s."
        )
