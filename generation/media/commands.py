"""What `manage.py narrate` and `manage.py render_clip` share: ask, run, report."""

import json

from django.core.management.base import BaseCommand, CommandError

from cms.models import ArticlePage
from generation.media.api import media_absolute_url
from generation.media.models import MediaItem
from generation.media.services import MediaRefused, media_item_run, media_request


class MediaCommand(BaseCommand):
    kind: str

    def add_arguments(self, parser):
        parser.add_argument("page_id", type=int, help="The article's page id.")
        parser.add_argument(
            "--sync", action="store_true", help="Run the job here, not in a worker."
        )

    def handle(self, *args, page_id: int, sync: bool, **options):
        page = ArticlePage.objects.filter(pk=page_id).first()
        if page is None:
            raise CommandError(f"No article with id {page_id}.")
        try:
            item = media_request(page=page, kind=self.kind, enqueue=not sync)
        except MediaRefused as refused:
            raise CommandError(str(refused)) from refused
        if sync and not item.is_finished:
            media_item_run(item_id=item.pk, retry_inline=True)
            item.refresh_from_db()
        self.stdout.write(json.dumps(self.report(item)))
        if item.status == MediaItem.Status.FAILED:
            raise CommandError(item.error.splitlines()[0] if item.error else "Failed.")

    def report(self, item: MediaItem) -> dict:
        return {
            "page": item.page_id,
            "media": item.kind,
            "url": media_absolute_url(item.file.url) if item.file else None,
            "duration_seconds": round(item.duration_seconds, 2),
            "status": item.status,
        }
