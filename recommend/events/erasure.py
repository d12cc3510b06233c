"""Erasure of a reader: every event, impression and membership, with a tombstone."""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from recommend.events.snapshot import event_snapshot_discard
from recommend.models import Event, FeedImpression, Reader, ReaderAudience
from recommend.serving.candidates import candidate_list_forget


@transaction.atomic
def reader_erase(*, external_id: str) -> int:
    """Delete every event of a reader and keep a tombstone; returns events deleted.

    Raises Reader.DoesNotExist for an unknown reader. Erasing twice deletes
    nothing the second time and keeps the first erasure time.
    """
    reader = Reader.objects.select_for_update().get(external_id=external_id)
    _, deleted_by_model = Event.objects.filter(reader=reader).delete()
    deleted = deleted_by_model.get(Event._meta.label, 0)
    # Training's stored copy of the events must not keep the erased reader's.
    transaction.on_commit(event_snapshot_discard)
    # What the reader was shown is about them too.
    FeedImpression.objects.filter(
        Q(reader=reader) | Q(reader_external_id=external_id)
    ).delete()
    ReaderAudience.objects.filter(reader=reader).delete()
    # The cached list and recent events name what the reader read.
    transaction.on_commit(lambda: candidate_list_forget(external_id=external_id))
    if not reader.erased:
        reader.erased = True
        reader.erased_at = timezone.now()
        reader.save(update_fields=["erased", "erased_at"])
    return deleted
