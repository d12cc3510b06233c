"""manage.py import_content: articles from a JSON Lines or CSV file (idempotent)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from cms.importing import FORMATS, ImportFileError, content_import


class Command(BaseCommand):
    help = (
        "Import articles from a JSON Lines (.jsonl, .ndjson) or CSV (.csv) file. "
        "Rows are matched to articles by external_id: new ones are created, changed "
        "ones get a new revision, unchanged ones are left alone. Bad rows are "
        "reported by line and nothing of them is written; the command then exits 1."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE", help="The file to import.")
        parser.add_argument(
            "--format",
            choices=FORMATS,
            dest="file_format",
            help="Read the file as this format whatever its extension.",
        )
        parser.add_argument(
            "--draft",
            action="store_true",
            help="Save new and changed articles as drafts instead of publishing.",
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="Hide the progress bar."
        )

    def handle(self, *args, file: str, file_format, draft, no_progress, **options):
        quiet = no_progress or options["verbosity"] == 0
        try:
            report = content_import(
                path=Path(file),
                file_format=file_format,
                publish=not draft,
                progress=lambda rows: tqdm(
                    rows, desc="Importing", unit="row", disable=quiet
                ),
            )
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        for rejection in report.rejected:
            self.stderr.write(str(rejection))
        self.stdout.write(
            f"Imported: {report.created} created, {report.updated} updated, "
            f"{report.unchanged} unchanged, {len(report.rejected)} rejected."
        )
        if report.rejected:
            raise CommandError(
                f"{len(report.rejected)} of {report.rows} rows rejected; "
                "see the lines above."
            )
