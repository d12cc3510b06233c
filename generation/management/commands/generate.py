"""manage.py generate: AI drafts for a topic, queued for the worker or run inline."""

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from tqdm import tqdm

from cms.models import SectionPage, Topic
from generation.formats import Format
from generation.models import GenerationJob
from generation.services import brief_create, brief_submit, generation_job_run

# With --count N each brief takes another angle, so the drafts differ.
ANGLES = [
    "",
    "what has changed recently",
    "what readers can do about it",
    "the questions still open",
    "the people it affects most",
    "the history behind it",
]


class Command(BaseCommand):
    help = (
        "Draft articles with the AI pipeline: each brief becomes an unpublished "
        'article in the editors\' "AI review" workflow. Without --sync the jobs are '
        "queued for the django-q2 worker; with --sync they run here."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--topic",
            required=True,
            help="A topic name or slug of the site, or any subject or question.",
        )
        parser.add_argument(
            "--section", required=True, help="Slug of the section to draft into."
        )
        parser.add_argument(
            "--count", type=int, default=1, help="How many drafts (default 1)."
        )
        parser.add_argument(
            "--sync", action="store_true", help="Run the jobs here, not in a worker."
        )
        parser.add_argument("--keywords", default="", help="Comma-separated.")
        parser.add_argument("--words", type=int, default=600, help="Target length.")
        parser.add_argument(
            "--format",
            default=Format.FEATURE.value,
            choices=Format.values,
            help="The article's format (default feature).",
        )
        parser.add_argument("--tone", default="", help='e.g. "conversational".')
        parser.add_argument(
            "--no-progress", action="store_true", help="Hide the progress bar."
        )

    def handle(self, *args, topic, section, count, sync, keywords, words, **options):
        if count < 1:
            raise CommandError("--count must be at least 1.")
        section_page = SectionPage.objects.filter(slug=section).first()
        if section_page is None:
            raise CommandError(f"No section with slug {section!r}.")
        site_topic = Topic.objects.filter(
            Q(name__iexact=topic.strip()) | Q(slug__iexact=topic.strip())
        ).first()
        quiet = options["no_progress"] or options["verbosity"] == 0
        jobs: list[GenerationJob] = []
        for number in tqdm(
            range(count), desc="Drafts", unit="draft", disable=quiet or count == 1
        ):
            brief = brief_create(
                topic=site_topic.name if site_topic else topic,
                section=section_page,
                angle=ANGLES[number % len(ANGLES)],
                keywords=keywords.split(","),
                target_words=words,
                format=options["format"],
                tone=options["tone"],
                topics=[site_topic] if site_topic else [],
                origin="command",
            )
            job = brief_submit(brief=brief, enqueue=not sync)
            if sync:
                generation_job_run(job_id=job.pk, retry_inline=True)
                job.refresh_from_db()
            jobs.append(job)
        if not sync:
            ids = ", ".join(str(job.pk) for job in jobs)
            self.stdout.write(f"Queued {len(jobs)} generation job(s): {ids}.")
            return
        failed = [job for job in jobs if job.status != GenerationJob.Status.SUCCEEDED]
        for job in jobs:
            if job.status == GenerationJob.Status.SUCCEEDED:
                self.stdout.write(f"Job {job.pk}: draft page {job.page_id} in review.")
        if failed:
            raise CommandError(
                f"{len(failed)} of {len(jobs)} draft(s) failed; job {failed[0].pk}: "
                f"{failed[0].error}"
            )
