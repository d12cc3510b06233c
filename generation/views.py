"""Admin views of the generation app: the brief form, job status, drafts, regenerate.

Each view parses its input and calls one service or selector of the app; Generate,
like the REST API, stores the brief and then submits it.
"""

import datetime

from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse, reverse_lazy
from django.utils.dateparse import parse_datetime
from django.views import View
from django.views.generic import FormView, TemplateView
from wagtail.admin import messages
from wagtail.admin.auth import permission_denied, user_has_any_page_permission
from wagtail.admin.ui.tables import (
    Column,
    DateColumn,
    NumberColumn,
    StatusTagColumn,
    TitleColumn,
    UserColumn,
)
from wagtail.admin.views.generic.base import BaseListingView, WagtailAdminTemplateMixin
from wagtail.admin.widgets.button import HeaderButton
from wagtail.models import Page, WorkflowState
from wagtail.permission_policies.pages import PagePermissionPolicy

from cms.models import ArticlePage
from generation.forms import BriefForm, RegenerateForm, SectionRegenerateForm
from generation.models import GenerationJob
from generation.panels import draft_rejection_open
from generation.selectors import (
    ai_draft_list,
    brief_audience_name,
    draft_sections,
    job_get,
    job_list,
)
from generation.services import (
    SectionRegenerateRefused,
    brief_create,
    brief_submit,
    draft_regenerate,
    draft_section_regenerate,
    generation_job_cancel,
)

HOME = {"url": reverse_lazy("wagtailadmin_home"), "label": "Home"}
DRAFTS = {"url": reverse_lazy("generation:drafts"), "label": "AI drafts"}
JOBS = {"url": reverse_lazy("generation:jobs"), "label": "Generation jobs"}


def user_can_generate(user) -> bool:
    """Asking for a draft needs the right to add a page somewhere."""
    return PagePermissionPolicy(Page).user_has_permission(user, "add")


class PagePermissionRequiredMixin:
    """Admin users with some page permission only, as for Wagtail's page views."""

    def dispatch(self, request, *args, **kwargs):
        if not self.user_allowed(request.user):
            return permission_denied(request)
        return super().dispatch(request, *args, **kwargs)

    def user_allowed(self, user) -> bool:
        return user_has_any_page_permission(user)


def _job_or_404(job_id: int) -> GenerationJob:
    try:
        return job_get(job_id=job_id)
    except GenerationJob.DoesNotExist:
        raise Http404(f"No generation job {job_id}.") from None


class BriefCreateView(PagePermissionRequiredMixin, WagtailAdminTemplateMixin, FormView):
    """Generate: the brief form; submitting queues a job and shows its status."""

    form_class = BriefForm
    template_name = "generation/admin/brief_form.html"
    page_title = "Generate a draft"
    header_icon = "edit"

    def user_allowed(self, user) -> bool:
        return user_can_generate(user)

    def get_breadcrumbs_items(self):
        return [HOME, DRAFTS, {"url": "", "label": "Generate"}]

    def get_header_buttons(self):
        return [
            HeaderButton("Jobs", url=reverse("generation:jobs"), icon_name="list-ul")
        ]

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_initial(self):
        """Values a link may pre-fill, e.g. the content gaps' "Draft this"."""
        initial = super().get_initial()
        query = self.request.GET
        for name in ("topic", "audience_key", "section", "angle"):
            if query.get(name):
                initial[name] = query[name]
        if query.getlist("topics"):
            initial["topics"] = [pk for pk in query.getlist("topics") if pk.isdigit()]
        return initial

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            action_url=reverse("generation:generate"),
            submit_button_label="Generate draft",
            submit_button_active_label="Submitting…",
            media=context["form"].media,
        )
        return context

    def form_valid(self, form):
        user = self.request.user
        brief = brief_create(**form.brief_values(), requested_by=user, origin="admin")
        job = brief_submit(brief=brief, user=user)
        messages.success(
            self.request,
            f"Brief “{brief.topic}” submitted as job {job.pk}.",
        )
        return redirect("generation:job", job_id=job.pk)

    def form_invalid(self, form):
        messages.validation_error(
            self.request, "The brief could not be submitted due to errors.", form
        )
        return super().form_invalid(form)


class JobDetailView(
    PagePermissionRequiredMixin, WagtailAdminTemplateMixin, TemplateView
):
    """A job's status, refreshed every 2 s until it ends, then "Review draft"."""

    template_name = "generation/admin/job_detail.html"
    fragment_template_name = "generation/admin/includes/job_status.html"
    header_icon = "time"

    def get(self, request, job_id: int):
        self.job = _job_or_404(job_id)
        context = self.get_context_data()
        if request.GET.get("fragment"):
            return TemplateResponse(request, self.fragment_template_name, context)
        return self.render_to_response(context)

    def get_page_title(self):
        return f"Generation job {self.job.pk}"

    def get_breadcrumbs_items(self):
        return [HOME, JOBS, {"url": "", "label": f"Job {self.job.pk}"}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        job = self.job
        timings = job.timings or {}
        context.update(
            job=job,
            brief_topics=list(job.brief.topics.all()),
            audience_name=brief_audience_name(key=job.brief.audience_key),
            refresh_url=reverse("generation:job", args=[job.pk]) + "?fragment=1",
            edit_url=(
                reverse("wagtailadmin_pages:edit", args=[job.page_id])
                if job.page_id and job.status == GenerationJob.Status.SUCCEEDED
                else None
            ),
            steps=[
                (step, timings[step])
                for step in ("retrieve", "write", "media", "check", "save")
                if step in timings
            ],
            pipeline_seconds=timings.get("pipeline"),
            queued_seconds=timings.get("queued"),
            can_retry=job.kind == GenerationJob.Kind.DRAFT
            and job.status
            in (GenerationJob.Status.FAILED, GenerationJob.Status.CANCELLED),
        )
        return context


class JobCancelView(PagePermissionRequiredMixin, View):
    """Stop a queued or running job."""

    def post(self, request, job_id: int):
        job = generation_job_cancel(job=_job_or_404(job_id), user=request.user)
        status = job.get_status_display().lower()
        messages.success(request, f"Job {job.pk} is {status}.")
        return redirect("generation:job", job_id=job.pk)


class JobRetryView(PagePermissionRequiredMixin, View):
    """Submit a failed or cancelled job's brief again: a fresh job."""

    def user_allowed(self, user) -> bool:
        return user_can_generate(user)

    def post(self, request, job_id: int):
        job = brief_submit(brief=_job_or_404(job_id).brief, user=request.user)
        return redirect("generation:job", job_id=job.pk)


def _generated_at(page: ArticlePage) -> datetime.datetime | None:
    value = (page.ai_provenance or {}).get("generated_at")
    return parse_datetime(value) if value else None


def _workflow_status(page: ArticlePage) -> str:
    state = page.current_workflow_state
    if state is None:
        return ""
    if state.status == state.STATUS_NEEDS_CHANGES:
        return "Changes requested"
    return "In review"


class AiDraftIndexView(PagePermissionRequiredMixin, BaseListingView):
    """AI drafts waiting for Editors: in review, or sent back for changes."""

    page_title = "AI drafts"
    header_icon = "doc-full"
    index_url_name = "generation:drafts"
    verbose_name = "AI draft"
    verbose_name_plural = "AI drafts"
    paginate_by = 50
    columns = [
        TitleColumn("title", label="Title", url_name="wagtailadmin_pages:edit"),
        Column(
            "provider",
            accessor=lambda page: (page.ai_provenance or {}).get("provider"),
        ),
        Column("model", accessor=lambda page: (page.ai_provenance or {}).get("model")),
        NumberColumn(
            "sources",
            accessor=lambda page: len((page.ai_provenance or {}).get("sources", [])),
        ),
        DateColumn("generated", label="Generated", accessor=_generated_at),
        StatusTagColumn(
            "workflow",
            label="Workflow",
            accessor=_workflow_status,
            primary=lambda page: _workflow_status(page) == "In review",
        ),
    ]

    def get_breadcrumbs_items(self):
        return [HOME, {"url": "", "label": "AI drafts"}]

    def get_header_buttons(self):
        return [
            HeaderButton(
                "Generate", url=reverse("generation:generate"), icon_name="plus"
            ),
            HeaderButton("Jobs", url=reverse("generation:jobs"), icon_name="list-ul"),
        ]

    def get_base_queryset(self):
        # One query for the status column. Not Wagtail's prefetch_workflow_states():
        # on an ArticlePage queryset it matches the base content type and finds none.
        return ai_draft_list(pending_review=True).prefetch_related(
            Prefetch(
                "_specific_workflow_states",
                queryset=WorkflowState.objects.active(),
                to_attr="_current_workflow_states",
            )
        )


class JobIndexView(PagePermissionRequiredMixin, BaseListingView):
    """Every generation job, newest first; `?status=failed` narrows it."""

    page_title = "Generation jobs"
    header_icon = "list-ul"
    index_url_name = "generation:jobs"
    verbose_name = "generation job"
    verbose_name_plural = "generation jobs"
    paginate_by = 50
    columns = [
        TitleColumn(
            "job",
            label="Job",
            accessor=lambda job: f"Job {job.pk}",
            url_name="generation:job",
        ),
        Column("brief", label="Brief", accessor="brief.topic"),
        Column("kind", accessor="get_kind_display"),
        StatusTagColumn(
            "status",
            accessor="get_status_display",
            primary=lambda job: job.status == GenerationJob.Status.SUCCEEDED,
        ),
        NumberColumn("attempts"),
        Column("provider"),
        Column("model"),
        UserColumn("requested_by", label="Requested by"),
        DateColumn("created_at", label="Created"),
        DateColumn("finished_at", label="Finished"),
    ]

    def get_breadcrumbs_items(self):
        return [HOME, {"url": "", "label": "Generation jobs"}]

    def get_header_buttons(self):
        return [
            HeaderButton(
                "Generate", url=reverse("generation:generate"), icon_name="plus"
            ),
            HeaderButton(
                "AI drafts", url=reverse("generation:drafts"), icon_name="doc-full"
            ),
        ]

    def get_base_queryset(self):
        status = self.request.GET.get("status")
        if status not in GenerationJob.Status.values:
            status = None
        return job_list(status=status).select_related("brief", "requested_by")


class _DraftStepView(WagtailAdminTemplateMixin, View):
    """A step on one AI draft the user may edit: the draft as subtitle, and the
    breadcrumbs AI drafts > the draft > ``step_label``."""

    step_label = ""

    def dispatch(self, request, page_id: int):
        self.page = get_object_or_404(ArticlePage, pk=page_id)
        if not self.page.permissions_for_user(request.user).can_edit():
            return permission_denied(request)
        return self.draft_dispatch(request, page_id)

    def draft_dispatch(self, request, page_id: int):
        return super().dispatch(request, page_id)

    def get_page_subtitle(self):
        return self.page.get_admin_display_title()

    def get_breadcrumbs_items(self):
        return [
            HOME,
            DRAFTS,
            {
                "url": reverse("wagtailadmin_pages:edit", args=[self.page.pk]),
                "label": self.page.get_admin_display_title(),
            },
            {"url": "", "label": self.step_label},
        ]


class DraftRegenerateView(_DraftStepView):
    """Regenerate with this feedback: the reviewer's comment, a new revision.

    GET asks for confirmation (the comment can be edited); POST queues the job.
    A POST without `feedback` (the provenance panel's button) answers the
    reviewer's comment as it stands.
    """

    template_name = "generation/admin/regenerate_confirm.html"
    page_title = "Regenerate with this feedback"
    header_icon = "rotate"
    step_label = "Regenerate"

    def draft_dispatch(self, request, page_id: int):
        self.rejection = draft_rejection_open(
            page=self.page.get_latest_revision_as_object()
        )
        if self.rejection is None:
            messages.error(
                request,
                f"“{self.page.get_admin_display_title()}” is not an AI draft waiting "
                "on requested changes, so there is nothing to regenerate.",
            )
            return redirect("wagtailadmin_pages:edit", self.page.pk)
        return super().draft_dispatch(request, page_id)

    def get(self, request, page_id: int):
        form = RegenerateForm(initial={"feedback": self.rejection.comment})
        return self._render(form)

    def post(self, request, page_id: int):
        if "feedback" in request.POST:
            form = RegenerateForm(request.POST)
        else:
            form = RegenerateForm({"feedback": self.rejection.comment})
        if not form.is_valid():
            if "feedback" not in request.POST:
                messages.error(
                    request,
                    "The reviewer left no comment: write the feedback to answer.",
                )
            return self._render(form)
        try:
            job = draft_regenerate(
                page=self.page,
                feedback=form.cleaned_data["feedback"],
                user=request.user,
            )
        except ValueError:
            # Marked as AI-written but not drafted by a job (imported, say).
            messages.error(request, "This page has no generation job to run again.")
            return redirect("wagtailadmin_pages:edit", self.page.pk)
        messages.success(
            request,
            f"Regenerating “{self.page.get_admin_display_title()}” with your "
            "feedback: a new revision follows, back in review.",
        )
        return redirect("generation:job", job_id=job.pk)

    def _render(self, form):
        context = self.get_context_data(
            form=form,
            page=self.page,
            rejection=self.rejection,
            action_url=reverse("generation:regenerate", args=[self.page.pk]),
            edit_url=reverse("wagtailadmin_pages:edit", args=[self.page.pk]),
        )
        return self.render_to_response(context)


class DraftSectionRegenerateView(_DraftStepView):
    """Rewrite one section with a comment: a new revision, the rest untouched.

    GET shows the draft's section headings and a comment box; POST queues the
    job. Offered on any AI draft, in review or sent back for changes.
    """

    template_name = "generation/admin/section_regenerate.html"
    page_title = "Rewrite one section"
    header_icon = "rotate"
    step_label = "Rewrite one section"

    def draft_dispatch(self, request, page_id: int):
        self.sections = draft_sections(page=self.page)
        return super().draft_dispatch(request, page_id)

    def get(self, request, page_id: int):
        return self._render(SectionRegenerateForm(sections=self.sections))

    def post(self, request, page_id: int):
        form = SectionRegenerateForm(request.POST, sections=self.sections)
        if not form.is_valid():
            return self._render(form, status=400)
        try:
            job = draft_section_regenerate(
                page=self.page,
                section=form.cleaned_data["section"],
                feedback=form.cleaned_data["feedback"],
                user=request.user,
            )
        except SectionRegenerateRefused as refused:
            form.add_error(None, str(refused))
            return self._render(form, status=400)
        messages.success(
            request,
            f"Rewriting “{job.section_heading}” with your comment: a new revision "
            "follows, in review.",
        )
        return redirect("generation:job", job_id=job.pk)

    def _render(self, form, status: int = 200):
        context = self.get_context_data(
            form=form,
            page=self.page,
            action_url=reverse("generation:section_regenerate", args=[self.page.pk]),
            edit_url=reverse("wagtailadmin_pages:edit", args=[self.page.pk]),
        )
        return self.render_to_response(context, status=status)
