"""Admin views of audiences and of the performance report.

Each view parses its input and calls one service or selector.
"""

from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse, reverse_lazy
from django.views.generic import FormView, TemplateView
from wagtail.admin import messages
from wagtail.admin.auth import permission_denied, user_has_any_page_permission
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.widgets.button import HeaderButton

from cms.models import Topic
from recommend.admin.charts import Series, bar_chart, line_chart
from recommend.audiences.audiences import (
    audience_list,
    audience_rule_create,
    audience_update,
)
from recommend.audiences.gaps import (
    content_gap_list,
    content_gap_refresh,
    topic_sections,
)
from recommend.audiences.performance import performance_report
from recommend.models import Audience
from recommend.selectors import model_artifact_problem

HOME = {"url": reverse_lazy("wagtailadmin_home"), "label": "Home"}
AUDIENCES = {"url": reverse_lazy("recommend_admin:audiences"), "label": "Audiences"}
REPORT_DAYS = (7, 30, 90)


class EditorRequiredMixin:
    """Admin users with some page permission see these; changes need more."""

    permission = ""  # a recommend model permission, e.g. "change_audience"

    def dispatch(self, request, *args, **kwargs):
        user = request.user
        allowed = user_has_any_page_permission(user) and (
            not self.permission or user.has_perm(f"recommend.{self.permission}")
        )
        if not allowed:
            return permission_denied(request)
        return super().dispatch(request, *args, **kwargs)


class AudienceIndexView(EditorRequiredMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "recommend/admin/audiences.html"
    page_title = "Audiences"
    header_icon = "group"

    def get_breadcrumbs_items(self):
        return [HOME, {"url": "", "label": "Audiences"}]

    def get_header_buttons(self):
        if not self.request.user.has_perm("recommend.add_audience"):
            return []
        return [
            HeaderButton(
                "Add rule audience",
                url=reverse("recommend_admin:audience_rule_add"),
                icon_name="plus",
            )
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        audiences = list(audience_list(include_inactive=True))
        context.update(
            active=[audience for audience in audiences if audience.active],
            retired=[audience for audience in audiences if not audience.active],
            can_edit=self.request.user.has_perm("recommend.change_audience"),
        )
        return context


def content_gap_draft_url(*, gap, section) -> str:
    """The Generate form, pre-filled for this gap (generation reads these params)."""
    params = {
        "topic": gap.topic.name,
        "topics": gap.topic_id,
        "audience_key": gap.audience.key,
    }
    if section is not None:
        params["section"] = section.pk
    return f"{reverse('generation:generate')}?{urlencode(params)}"


class ContentGapIndexView(EditorRequiredMixin, WagtailAdminTemplateMixin, TemplateView):
    """What each audience reads a lot of and has had little of lately.

    Read from the table the scheduled job fills; "Recompute now" runs it.
    """

    template_name = "recommend/admin/content_gaps.html"
    page_title = "Content gaps"
    header_icon = "help"

    def get_breadcrumbs_items(self):
        return [HOME, AUDIENCES, {"url": "", "label": "Content gaps"}]

    def post(self, request):
        count = content_gap_refresh()
        messages.success(request, f"Content gaps recomputed: {count} found.")
        return redirect("recommend_admin:content_gaps")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        gaps = list(content_gap_list())
        sections = topic_sections(topic_ids=sorted({gap.topic_id for gap in gaps}))
        rows = [
            {
                "gap": gap,
                "section": sections.get(gap.topic_id),
                "draft_url": content_gap_draft_url(
                    gap=gap, section=sections.get(gap.topic_id)
                ),
            }
            for gap in gaps
        ]
        context.update(
            rows=rows,
            computed_at=max((gap.computed_at for gap in gaps), default=None),
            supply_days=getattr(settings, "RECOMMEND_GAP_SUPPLY_DAYS", 30),
        )
        return context


def _topic_choices() -> list[tuple[str, str]]:
    return list(Topic.objects.order_by("name").values_list("slug", "name"))


class AudienceForm(forms.Form):
    name = forms.CharField(max_length=255)
    intro = forms.CharField(
        required=False,
        label="Digest introduction",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Opens the digests of this audience's readers once approved.",
    )
    intro_approved = forms.BooleanField(
        required=False,
        label="Introduction approved",
        help_text="Readers never see an introduction that is not approved.",
    )


class RuleForm(forms.Form):
    topics = forms.MultipleChoiceField(
        choices=_topic_choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Readers who follow these topics…",
    )
    min_share = forms.FloatField(
        min_value=0.01,
        max_value=1.0,
        initial=0.25,
        label="Minimum share",
        help_text="…with at least this share of their reading in them (0.01-1).",
    )


class AudienceRuleForm(AudienceForm, RuleForm):
    field_order = ["name", "topics", "min_share", "intro", "intro_approved"]


class AudienceNewRuleForm(RuleForm):
    name = forms.CharField(max_length=255)
    field_order = ["name", "topics", "min_share"]


class AudienceEditView(EditorRequiredMixin, WagtailAdminTemplateMixin, FormView):
    template_name = "recommend/admin/audience_form.html"
    permission = "change_audience"
    header_icon = "group"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.audience = Audience.objects.filter(pk=kwargs["audience_id"]).first()
        if self.audience is None:
            raise Http404("No such audience.")

    def get_page_title(self):
        return f"Edit “{self.audience.name}”"

    def get_breadcrumbs_items(self):
        return [HOME, AUDIENCES, {"url": "", "label": self.audience.name}]

    def get_form_class(self):
        if self.audience.kind == Audience.Kind.RULE:
            return AudienceRuleForm
        return AudienceForm

    def get_initial(self):
        audience = self.audience
        return {
            "name": audience.name,
            "intro": audience.intro,
            "intro_approved": audience.intro_approved,
            "topics": audience.rule.get("topics", []),
            "min_share": audience.rule.get("min_share", 0.25),
        }

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            audience=self.audience,
            action_url=reverse(
                "recommend_admin:audience_edit", args=[self.audience.pk]
            ),
            submit_button_label="Save",
        )
        return context

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            audience = audience_update(
                audience=self.audience,
                name=data["name"],
                intro=data["intro"],
                intro_approved=data["intro_approved"],
                topics=data.get("topics"),
                min_share=data.get("min_share"),
            )
        except ValueError as error:
            form.add_error(None, str(error))
            return self.form_invalid(form)
        messages.success(self.request, f"Audience “{audience.name}” saved.")
        return redirect("recommend_admin:audiences")


class AudienceRuleCreateView(EditorRequiredMixin, WagtailAdminTemplateMixin, FormView):
    template_name = "recommend/admin/audience_form.html"
    form_class = AudienceNewRuleForm
    permission = "add_audience"
    page_title = "Add a rule audience"
    header_icon = "group"

    def get_breadcrumbs_items(self):
        return [HOME, AUDIENCES, {"url": "", "label": "Add rule audience"}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            action_url=reverse("recommend_admin:audience_rule_add"),
            submit_button_label="Create",
        )
        return context

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            audience = audience_rule_create(
                name=data["name"], topics=data["topics"], min_share=data["min_share"]
            )
        except ValueError as error:
            form.add_error(None, str(error))
            return self.form_invalid(form)
        messages.success(
            self.request,
            f"Audience “{audience.name}” created: {audience.size} readers.",
        )
        return redirect("recommend_admin:audiences")


class PerformanceReportView(
    EditorRequiredMixin, WagtailAdminTemplateMixin, TemplateView
):
    template_name = "recommend/admin/performance.html"
    page_title = "Content performance"
    header_icon = "table"

    def get_breadcrumbs_items(self):
        return [HOME, {"url": "", "label": "Content performance"}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        try:
            days = int(self.request.GET.get("days", 30))
        except ValueError:
            days = 30
        days = days if days in REPORT_DAYS else 30
        problem = model_artifact_problem()
        if problem is not None:
            messages.warning(
                self.request,
                f"The active model (version {problem['version']}) cannot be "
                f"loaded ({problem['error']}): feeds serve trending items until a "
                "model is trained again (manage.py train).",
            )
        report = performance_report(days=days)
        audiences = [row for row in report.audiences if row.impressions or row.reads]
        context.update(
            days=days,
            day_choices=REPORT_DAYS,
            report=report,
            audiences=audiences,
            audience_chart=bar_chart(
                title="Click-through rate per audience",
                labels=[row.audience.name for row in audiences],
                series=[Series("CTR", [row.ctr for row in audiences])],
                percent=True,
            )
            if audiences
            else None,
            topic_chart=bar_chart(
                title="AI-generated vs human-written: click-through rate per topic",
                labels=[row.topic for row in report.topics],
                series=[
                    Series("AI-generated", [row.ai.ctr for row in report.topics]),
                    Series("Human-written", [row.human.ctr for row in report.topics]),
                ],
                percent=True,
            )
            if report.topics
            else None,
            model_chart=line_chart(
                title="Model quality: nDCG@10 of each promoted model",
                labels=[f"#{row.version}" for row in report.models],
                series=[
                    Series("Model", [row.ndcg for row in report.models]),
                    Series(
                        "Popularity baseline",
                        [row.popular_ndcg for row in report.models],
                    ),
                ],
            )
            if report.models
            else None,
        )
        return context
