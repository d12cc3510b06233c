"""Briefs, prompt templates and the generation jobs that turn briefs into drafts."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from wagtail.admin.panels import FieldPanel
from wagtail.models import RevisionMixin
from wagtail.snippets.models import register_snippet

from generation.formats import Format

# Longest angle and regeneration feedback: a paragraph or two of guidance, not a
# document pasted into every prompt and admin page.
ANGLE_MAX_LENGTH = 2000
FEEDBACK_MAX_LENGTH = 4000


class Brief(models.Model):
    """What an editor (or an API client) asks the AI to write about."""

    topic = models.CharField(
        max_length=255, help_text="The subject, or the question to answer."
    )
    angle = models.TextField(
        blank=True,
        max_length=ANGLE_MAX_LENGTH,
        help_text="The take or focus wanted.",
    )
    keywords = models.JSONField(default=list, blank=True)
    format = models.CharField(
        max_length=20,
        choices=Format.choices,
        default=Format.FEATURE,
        help_text="The shape of the article: headings, steps, questions, length.",
    )
    tone = models.CharField(max_length=100, default="clear and informative")
    target_words = models.PositiveIntegerField(default=600)
    section = models.ForeignKey(
        "cms.SectionPage",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Where the draft is created.",
    )
    topics = models.ManyToManyField("cms.Topic", blank=True, related_name="+")
    source_pages = models.ManyToManyField(
        "cms.ArticlePage",
        blank=True,
        related_name="+",
        help_text="Articles to ground the draft in first.",
    )
    # Audiences do not exist yet: the audiences work turns this key into a link.
    audience_key = models.CharField(max_length=100, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    origin = models.CharField(
        max_length=100, blank=True, help_text='"admin", "command" or "api:<key>".'
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("angle"), ANGLE_MAX_LENGTH),
                name="brief_angle_max_length",
            ),
        ]

    def __str__(self) -> str:
        return self.topic

    @property
    def summary(self) -> str:
        """One line for people: topic, format, angle and keywords."""
        parts = [self.topic]
        if self.format and self.format != Format.FEATURE:
            parts.append(self.get_format_display())
        if self.angle:
            parts.append(self.angle)
        if self.keywords:
            parts.append("keywords: " + ", ".join(self.keywords))
        return " — ".join(parts)


@register_snippet
class PromptTemplate(RevisionMixin, models.Model):
    """The words sent to the model, editable in the admin with their history.

    `user_prompt` may use named placeholders: {topic} {angle} {keywords} {tone}
    {format} {format_instructions}
    {target_words} {sources} {feedback} {audience} {section} (and {title} for
    the cover kind). A job records the template revision it used.
    """

    class Kind(models.TextChoices):
        ARTICLE = "article", "Article draft"
        REGENERATE = "regenerate", "Regeneration with editor feedback"
        SECTION = "section", "One section rewritten with editor feedback"
        COVER = "cover", "Cover image"

    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=20, choices=Kind.choices, unique=True)
    system_prompt = models.TextField(blank=True)
    user_prompt = models.TextField()

    panels = [
        FieldPanel("name"),
        FieldPanel("kind"),
        FieldPanel("system_prompt"),
        FieldPanel("user_prompt"),
    ]

    class Meta:
        ordering = ["kind"]

    def __str__(self) -> str:
        return self.name


class GenerationJob(models.Model):
    """One run of the pipeline for a brief: a new draft, or a regenerated revision."""

    class Kind(models.TextChoices):
        DRAFT = "draft", "New draft"
        REGENERATE = "regenerate", "Regeneration"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    brief = models.ForeignKey(Brief, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.DRAFT)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    feedback = models.TextField(
        blank=True,
        max_length=FEEDBACK_MAX_LENGTH,
        help_text="The editor's comment a regeneration answers.",
    )
    feedback_actions = models.JSONField(
        default=dict,
        blank=True,
        help_text="What the feedback was read as: exclude, focus, length, tone.",
    )
    # A section regeneration rewrites one section of the body: its position
    # among the headed sections, and its heading when it was asked for.
    section_index = models.PositiveIntegerField(null=True, blank=True)
    section_heading = models.CharField(max_length=255, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, help_text="Why the last attempt failed.")
    # A worker owns a running job through this token; a worker that lost the job
    # (timed out and taken over) finds another token and throws its result away.
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    provider = models.CharField(max_length=50, blank=True)
    model = models.CharField(max_length=200, blank=True)
    image_provider = models.CharField(max_length=50, blank=True)
    image_model = models.CharField(max_length=200, blank=True)
    prompt_template = models.ForeignKey(
        PromptTemplate,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
    )
    prompt_revision = models.ForeignKey(
        "wagtailcore.Revision",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The prompt template's version this job used.",
    )
    prompt_text = models.TextField(blank=True, help_text="The user prompt as sent.")
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    cost_estimate = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    timings = models.JSONField(default=dict, blank=True)
    sources = models.JSONField(default=list, blank=True, help_text="Source page ids.")
    flags = models.JSONField(default=list, blank=True, help_text="Check warnings.")
    # Set in the transaction that creates the page (draft) or the revision
    # (regeneration): a retried job that finds them re-uses them.
    page = models.ForeignKey(
        "cms.ArticlePage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revision = models.ForeignKey(
        "wagtailcore.Revision",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # The idempotency guard: one page is the draft of one job only.
            models.UniqueConstraint(
                fields=["page"],
                condition=Q(kind="draft"),
                name="generation_job_one_draft_job_per_page",
            ),
        ]

    def __str__(self) -> str:
        return f"Job {self.pk} ({self.get_kind_display()}, {self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in {
            self.Status.SUCCEEDED,
            self.Status.FAILED,
            self.Status.CANCELLED,
        }


# AI media (narrations, clips) live in their own module of this app.
from generation.media.models import MediaItem  # noqa: E402, F401
