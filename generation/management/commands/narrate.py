"""manage.py narrate PAGE_ID: read an article's published text aloud, for review."""

from generation.media.commands import MediaCommand
from generation.media.models import MediaItem


class Command(MediaCommand):
    help = (
        "Narrate an article's published text (speech provider + ffmpeg): the audio "
        "goes to AI media for an Editor to approve. Queued for the worker, or run "
        "here with --sync. The last line is a JSON report."
    )
    kind = MediaItem.Kind.NARRATION
