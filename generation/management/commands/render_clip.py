"""manage.py render_clip PAGE_ID: a short vertical video of an article, for review."""

from generation.media.commands import MediaCommand
from generation.media.models import MediaItem


class Command(MediaCommand):
    help = (
        "Render a 9:16 clip of an article (cover, captions, narration, subtitles) "
        "with ffmpeg: it goes to AI media for an Editor to approve. Queued for the "
        "worker, or run here with --sync. The last line is a JSON report."
    )
    kind = MediaItem.Kind.CLIP
