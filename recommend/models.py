"""Readers, their events, and the trained model versions that serve them."""

from django.db import models
from django.db.models import Q

from recommend.engine.matrix import EVENT_TYPES


class Reader(models.Model):
    """A front-end's reader, known by the front-end's own id; created on first event."""

    external_id = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Erasure deletes every event and keeps only this tombstone, so that a late
    # event from a forgotten reader is refused rather than silently re-tracked.
    erased = models.BooleanField(default=False)
    erased_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.external_id


class Event(models.Model):
    """One implicit-feedback signal: a reader did something with a page."""

    class Type(models.TextChoices):
        VIEW = "view"
        READ = "read"
        LIKE = "like"
        BOOKMARK = "bookmark"
        SHARE = "share"
        DISMISS = "dismiss"

    reader = models.ForeignKey(Reader, on_delete=models.CASCADE, related_name="events")
    page = models.ForeignKey(
        "wagtailcore.Page", on_delete=models.CASCADE, related_name="+"
    )
    type = models.CharField(max_length=16, choices=Type.choices)
    value = models.FloatField(default=1.0)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    # The client's id for the event: a retried batch is recognised and ignored.
    event_id = models.CharField(max_length=128)
    feed_id = models.CharField(max_length=64, blank=True, default="")
    context = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["reader", "event_id"], name="event_unique_per_reader"
            )
        ]
        indexes = [
            models.Index(fields=["occurred_at"], name="event_occurred"),
            models.Index(fields=["reader", "occurred_at"], name="event_reader_time"),
            models.Index(fields=["page", "occurred_at"], name="event_page_time"),
            models.Index(
                fields=["feed_id"], name="event_feed", condition=~Q(feed_id="")
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reader_id} {self.type} {self.page_id}"


assert tuple(Event.Type.values) == EVENT_TYPES, "engine and model event types differ"


class ModelVersion(models.Model):
    """A trained recommender: what it learnt from, how good it is, where it lives."""

    class Status(models.TextChoices):
        TRAINING = "training"
        CANDIDATE = "candidate"
        ACTIVE = "active"
        RETIRED = "retired"
        FAILED = "failed"

    algorithm = models.CharField(max_length=32)
    parameters = models.JSONField(default=dict, blank=True)
    data_window_start = models.DateTimeField(null=True, blank=True)
    data_window_end = models.DateTimeField(null=True, blank=True)
    events_count = models.PositiveBigIntegerField(default=0)
    readers_count = models.PositiveIntegerField(default=0)
    items_count = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)
    artifact = models.FileField(upload_to="recommend/models/", blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.TRAINING
    )
    error = models.TextField(blank=True)
    training_seconds = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    promoted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status="active"),
                name="model_version_one_active",
            )
        ]

    def __str__(self) -> str:
        return f"{self.algorithm} #{self.pk} ({self.status})"


class FeedImpression(models.Model):
    """One served feed page: which items a reader was shown, under which feed id.

    One row per response (the item ids in a list), written in buffered batches,
    so that the hot path never inserts a row per item.
    """

    feed_id = models.CharField(max_length=64, unique=True)
    # No index on reader: nothing reads impressions by reader but erasure, which
    # matches the reader or the external id (a scan either way), and an index
    # on random reader ids cost 60% of each insert at a few thousand feeds a
    # second. The feed id leads with the time, so its index grows at its end.
    reader = models.ForeignKey(
        Reader,
        on_delete=models.CASCADE,
        null=True,
        related_name="impressions",
        db_index=False,
    )
    reader_external_id = models.CharField(max_length=255)
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    page_ids = models.JSONField(default=list)
    offset = models.PositiveIntegerField(default=0)
    filters = models.JSONField(default=dict, blank=True)
    served_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.feed_id


class Audience(models.Model):
    """A segment of readers that editors brief for and that routing targets.

    Cluster audiences are computed after each promotion and keep their key (and
    the name an editor gave them) across retrainings; rule audiences are
    defined by editors. Briefs, provenance and statistics refer to the key.
    """

    class Kind(models.TextChoices):
        CLUSTER = "cluster"
        RULE = "rule"

    key = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Unmatched cluster audiences retire rather than vanish: old briefs and
    # statistics still name them.
    active = models.BooleanField(default=True)
    # Rule audiences: {"topics": [slug, ...], "min_share": 0.25}.
    rule = models.JSONField(default=dict, blank=True)
    size = models.PositiveIntegerField(default=0)
    top_topics = models.JSONField(default=list, blank=True)
    top_articles = models.JSONField(default=list, blank=True)
    # Mean square-root topic profile of the members, by Topic pk: independent of
    # any model's factor space, so that retrainings can be matched against it.
    centroid = models.JSONField(default=dict, blank=True)
    intro = models.TextField(
        blank=True, help_text="Opening paragraph of this audience's digests."
    )
    intro_approved = models.BooleanField(
        default=False, help_text="Only an approved introduction is ever shown."
    )
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "-size", "pk"]

    def __str__(self) -> str:
        return self.name


class ReaderAudience(models.Model):
    """A reader's membership of an audience (one cluster, any number of rules)."""

    reader = models.ForeignKey(
        Reader, on_delete=models.CASCADE, related_name="audience_memberships"
    )
    audience = models.ForeignKey(
        Audience, on_delete=models.CASCADE, related_name="memberships"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["reader", "audience"], name="reader_audience_unique"
            )
        ]
        indexes = [models.Index(fields=["audience"], name="reader_audience_audience")]

    def __str__(self) -> str:
        return f"{self.reader_id} in {self.audience_id}"


class ContentGap(models.Model):
    """A topic an audience reads a lot of but that has had few articles lately.

    Rewritten as a whole by `recommend.audiences.gaps.content_gap_refresh` (a scheduled
    job); the admin only reads it.
    """

    audience = models.ForeignKey(
        Audience, on_delete=models.CASCADE, related_name="content_gaps"
    )
    topic = models.ForeignKey(
        "cms.Topic", on_delete=models.CASCADE, related_name="content_gaps"
    )
    engagement_share = models.FloatField()
    recent_articles = models.PositiveIntegerField()
    score = models.FloatField()
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["-score", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["audience", "topic"], name="content_gap_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.topic_id} for {self.audience_id} ({self.score:.2f})"


class PerformanceDay(models.Model):
    """A UTC day whose performance figures are aggregated up to `aggregated_until`.

    Written by `recommend.audiences.performance.performance_day_aggregate` (a
    scheduled job, idempotent per day); reports read the aggregates for the part
    of a day they cover and the raw tables only for what came after.
    """

    day = models.DateField(unique=True)
    aggregated_until = models.DateTimeField()
    aggregated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.day} until {self.aggregated_until:%H:%M}"


class _DailyFigures(models.Model):
    day = models.DateField()
    impressions = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)
    reads = models.PositiveIntegerField(default=0)
    likes = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.day}: {self.impressions} impressions, {self.clicks} clicks"


class PageDailyPerformance(_DailyFigures):
    """One article's impressions, clicks, reads and likes on one day."""

    # An id, not a foreign key: figures of a deleted page may still be summed.
    page_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "page_id"], name="page_daily_performance_unique"
            )
        ]


class AudienceDailyPerformance(_DailyFigures):
    """One audience's figures on one day (members as of the aggregation)."""

    audience = models.ForeignKey(
        Audience, on_delete=models.CASCADE, related_name="daily_performance"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "audience"], name="audience_daily_performance_unique"
            )
        ]


class PagePeriodPerformance(_DailyFigures):
    """One article's figures over one of the report's standard windows.

    Summed from the daily rows by the aggregation job (in the database), so that
    ranking 50k articles is an index scan. `day` is the window's last day.
    """

    period_days = models.PositiveSmallIntegerField()
    page_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["period_days", "page_id"],
                name="page_period_performance_unique",
            )
        ]
        indexes = [
            models.Index(
                fields=["period_days", "-impressions", "-reads", "page_id"],
                name="page_period_rank",
            )
        ]


class PerformancePeriod(models.Model):
    """Which window a `PagePeriodPerformance` set covers: [since_day, until)."""

    period_days = models.PositiveSmallIntegerField(unique=True)
    since_day = models.DateField()
    until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.period_days} days from {self.since_day}"
