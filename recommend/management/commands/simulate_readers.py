"""manage.py simulate_readers: seeded simulated readers and their events."""

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from recommend.events.simulation import (
    reader_simulation_create,
    reader_simulation_through_feeds,
)


class Command(BaseCommand):
    help = (
        "Create simulated readers (sim-0, sim-1, ...) with topic preferences. By "
        "default they read through their feeds: --sessions feed pages are served "
        "by the serving code over the last --days days (impressions recorded), "
        "the readers click, read, like and dismiss what they are shown (events "
        "carry the feed id), and a model is trained after each of --rounds "
        "rounds; --direct-events more come from other surfaces (no feed "
        "id). With --events, M events are stored directly instead, without "
        "feeds (benchmark data). The same arguments run again add nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--readers", type=int, default=500, metavar="N")
        parser.add_argument(
            "--sessions",
            type=int,
            default=3_000,
            metavar="S",
            help="Feed pages served to the readers (default 3000).",
        )
        parser.add_argument(
            "--rounds",
            type=int,
            default=3,
            metavar="R",
            help="Train a model after each of R rounds of sessions (default 3).",
        )
        parser.add_argument(
            "--direct-events",
            type=int,
            default=10_000,
            metavar="E",
            help="Events from other surfaces (search, links: no feed id) besides "
            "the feeds (default 10000).",
        )
        parser.add_argument(
            "--no-training",
            action="store_true",
            help="Serve every session without training models on the way.",
        )
        parser.add_argument(
            "--events",
            type=int,
            default=None,
            metavar="M",
            help="Store M events directly, without feeds or training.",
        )
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

        def progress(total, description):
            return tqdm(total=total, desc=description, unit="event", disable=quiet)

        try:
            if events is not None:
                report = reader_simulation_create(
                    readers=readers,
                    events=events,
                    seed=seed,
                    days=days,
                    progress=progress,
                )
            else:
                report = reader_simulation_through_feeds(
                    readers=readers,
                    sessions=options["sessions"],
                    rounds=options["rounds"],
                    retrain=not options["no_training"],
                    direct_events=options["direct_events"],
                    seed=seed,
                    days=days,
                    progress=progress,
                )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if events is not None:
            self.stdout.write(
                f"Simulated {report.readers} readers ({report.readers_created} new) "
                f"over {len(report.page_ids)} live articles and "
                f"{len(report.topic_ids)} topics: {report.events_created} of "
                f"{report.events} events created in {report.seconds:.1f} s."
            )
        elif report.already_done:
            self.stdout.write(
                f"{report.sessions} feed sessions of {report.readers} readers with "
                f"seed {seed} were simulated before: nothing added."
            )
        else:
            if report.model_versions:
                from recommend.tasks import audiences_refresh_now

                audiences_refresh_now()
            versions = ", ".join(f"#{pk}" for pk in report.model_versions) or "none"
            self.stdout.write(
                f"Simulated {report.readers} readers ({report.readers_created} new) "
                f"reading {report.sessions} feed pages ({report.impressions} "
                f"impressions): {report.events_created} events created, model "
                f"versions trained: {versions}, in {report.seconds:.1f} s."
            )
