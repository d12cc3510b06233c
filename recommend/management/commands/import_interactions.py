"""manage.py import_interactions: a rating/interaction file into events (idempotent)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from recommend.events.files import InteractionFileError
from recommend.events.interactions import VALUE_MEANINGS, interactions_import
from recommend.models import Event


class Command(BaseCommand):
    help = (
        "Import reader interactions from a CSV/TSV file of 'user, item, value"
        "[, timestamp]' rows (MovieLens u.data, ratings.dat and ratings.csv "
        "work as shipped). Users become readers by external id; items are "
        "matched to articles by external_id. Re-importing a file adds nothing. "
        "Bad rows are reported by line and the command then exits 1."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE", help="The file to import.")
        parser.add_argument(
            "--type",
            choices=Event.Type.values,
            dest="event_type",
            help="Store every row as this event type (default: by --value-as).",
        )
        parser.add_argument(
            "--value-as",
            choices=VALUE_MEANINGS,
            default="rating",
            help="rating (default): a rating of 4 or more is a 'like', any "
            "other a 'view'; weight: every row is a 'view' (or --type) "
            "carrying the value as is (dwell seconds for --type read).",
        )
        parser.add_argument(
            "--create-missing-items",
            action="store_true",
            help="Create live placeholder articles (section 'Imported items') "
            "for items no article has as external_id, instead of rejecting rows.",
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="Hide the progress bar."
        )

    def handle(
        self,
        *args,
        file: str,
        event_type,
        value_as: str,
        create_missing_items: bool,
        no_progress: bool,
        **options,
    ):
        quiet = no_progress or options["verbosity"] == 0
        try:
            report = interactions_import(
                path=Path(file),
                event_type=event_type,
                value_as=value_as,
                create_missing_items=create_missing_items,
                progress=lambda total, description: tqdm(
                    total=total, desc=description, unit="row", disable=quiet
                ),
            )
        except InteractionFileError as exc:
            raise CommandError(str(exc)) from exc
        if report.rows == 0:
            raise CommandError(f"{file}: no interaction rows")
        for line, reason in report.bad_rows:
            self.stderr.write(f"line {line}: {reason}")
        self.stdout.write(
            f"Imported: {report.events_created} events created, "
            f"{report.duplicates} already present, {report.refused} refused "
            f"(erased readers), {len(report.bad_rows)} rejected; "
            f"{report.readers_created} readers and {report.items_created} "
            "placeholder items created."
        )
        if report.bad_rows:
            raise CommandError(
                f"{len(report.bad_rows)} of {report.rows} rows rejected; "
                "see the lines above."
            )
