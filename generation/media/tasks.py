"""django-q2 tasks of AI media: they take ids and call one service."""

from generation.media import services


def media_item_run(item_id: int) -> str:
    """One attempt of a narration or clip job; harmless when repeated."""
    return services.media_item_run(item_id=item_id)


def media_items_resume() -> int:
    """The sweep: send again the media jobs whose task was lost."""
    return services.media_items_resume()


def media_on_publish(page_id: int) -> int:
    """After a publish: older media go stale (and maybe a narration is asked for)."""
    return services.media_on_publish(page_id=page_id)
