"""AI media: a narration or a clip of one article revision, its job and its review."""

from django.conf import settings
from django.db import models
from django.db.models import Q


class MediaItem(models.Model):
    """One narration or clip: made by a job, then reviewed by an Editor.

    The row is both the job (status, attempts, claim, progress, timings) and the
    result (files, duration, chapters). It narrates one live revision of the
    page: once another revision is published it is stale and no longer served.
    """

    class Kind(models.TextChoices):
        NARRATION = "narration", "Narration"
        CLIP = "clip", "Clip"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        IN_REVIEW = "in_review", "In review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Failed"

    ACTIVE = (Status.QUEUED, Status.RUNNING, Status.IN_REVIEW, Status.APPROVED)
    UNFINISHED = (Status.QUEUED, Status.RUNNING)

    page = models.ForeignKey(
        "cms.ArticlePage", on_delete=models.CASCADE, related_name="+"
    )
    revision = models.ForeignKey(
        "wagtailcore.Revision",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The live revision whose text was read.",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    stale = models.BooleanField(
        default=False, help_text="A newer revision of the page has been published."
    )
    narration = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="For a clip: the narration it uses as sound.",
    )
    file = models.FileField(upload_to="ai-media/", max_length=255, blank=True)
    transcript = models.FileField(upload_to="ai-media/", max_length=255, blank=True)
    mime_type = models.CharField(max_length=50, blank=True)
    duration_seconds = models.FloatField(default=0)
    chapters = models.JSONField(default=list, blank=True)
    provider = models.CharField(max_length=50, blank=True)
    model = models.CharField(max_length=200, blank=True)
    voice = models.CharField(max_length=100, blank=True)
    # Accounting: speech the provider made, and seconds spent rendering video.
    audio_seconds = models.FloatField(default=0)
    render_seconds = models.FloatField(default=0)
    cost_estimate = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # The idempotency guard: one live item of a kind per page revision.
            models.UniqueConstraint(
                fields=["page", "kind", "revision"],
                condition=Q(status__in=["queued", "running", "in_review", "approved"]),
                name="generation_media_one_active_per_revision",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.pk} of page {self.page_id}"

    @property
    def is_finished(self) -> bool:
        return self.status not in self.UNFINISHED
