"""Admin forms of the generation app: the brief an editor fills in, regeneration."""

from django import forms
from wagtail.admin.widgets import AdminPageChooser
from wagtail.models import Page
from wagtail.permission_policies.pages import PagePermissionPolicy

from cms.models import ArticlePage, SectionPage, Topic
from cms.selectors import article_live_list
from generation.formats import Format
from generation.models import ANGLE_MAX_LENGTH, FEEDBACK_MAX_LENGTH, Brief
from generation.widgets import SearchableCheckboxes
from recommend.audiences.audiences import audience_list

# A handful of named sources is enough: retrieval adds the rest, up to
# GENERATION_MAX_SOURCES.
SOURCE_FIELDS = ("source_page_1", "source_page_2", "source_page_3")
NOT_LIVE = "Choose a live article: a draft or unpublished page cannot ground a draft."


def _source_field(label: str) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=ArticlePage.objects.none(),
        required=False,
        label=label,
        widget=AdminPageChooser(target_models=[ArticlePage], can_choose_root=False),
        error_messages={"invalid_choice": NOT_LIVE},
    )


class BriefForm(forms.Form):
    """What to write, where it goes and what to ground it in."""

    topic = forms.CharField(
        max_length=Brief._meta.get_field("topic").max_length,
        help_text="The subject, or the question the article answers.",
    )
    angle = forms.CharField(
        required=False,
        max_length=ANGLE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Optional: the take or focus you want.",
    )
    keywords = forms.CharField(
        required=False,
        max_length=500,
        help_text="Optional, separated by commas: words the article should cover.",
    )
    format = forms.ChoiceField(
        choices=Format.choices,
        required=False,
        initial=Format.FEATURE,
        label="Format",
        help_text="Feature, explainer, Q&A, list, how-to or a short news brief.",
    )
    tone = forms.CharField(
        required=False,
        max_length=Brief._meta.get_field("tone").max_length,
        help_text=f'Optional. Default: "{Brief._meta.get_field("tone").default}".',
    )
    target_words = forms.IntegerField(
        label="Target length (words)", min_value=100, max_value=5000, initial=600
    )
    section = forms.ModelChoiceField(
        queryset=SectionPage.objects.none(),
        label="Target section",
        help_text="The draft is created here, unpublished, for Editors to review.",
    )
    topics = forms.ModelMultipleChoiceField(
        queryset=Topic.objects.all(),
        required=False,
        label="Site topics",
        widget=SearchableCheckboxes(placeholder="Type to filter topics…"),
        help_text="Optional: published articles on these topics are preferred.",
    )
    source_page_1 = _source_field("Source article")
    source_page_2 = _source_field("Second source article")
    source_page_3 = _source_field("Third source article")
    audience_key = forms.ChoiceField(
        required=False,
        label="Audience",
        help_text=(
            "Optional: the audience the draft is for. Its top topics and most-read "
            "articles guide the sources, and the published article is routed to it."
        ),
        error_messages={"invalid_choice": "No active audience “%(value)s”."},
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Only sections this user may add pages to: the draft is theirs to ask for.
        addable = PagePermissionPolicy(Page).instances_user_has_permission_for(
            user, "add"
        )
        self.fields["section"].queryset = SectionPage.objects.filter(
            pk__in=addable.values("pk")
        ).order_by("title")
        for name in SOURCE_FIELDS:
            self.fields[name].queryset = article_live_list()
        self.fields["audience_key"].choices = [("", "General readers")] + [
            (audience.key, f"{audience.name} ({audience.key})")
            for audience in audience_list()
        ]

    def clean_keywords(self) -> list[str]:
        raw = self.cleaned_data["keywords"]
        keywords = [keyword.strip() for keyword in raw.split(",") if keyword.strip()]
        if len(keywords) > 20:
            raise forms.ValidationError("At most 20 keywords.")
        return keywords

    def clean(self):
        cleaned = super().clean()
        chosen = [cleaned.get(name) for name in SOURCE_FIELDS if cleaned.get(name)]
        if len({page.pk for page in chosen}) < len(chosen):
            raise forms.ValidationError("Choose each source article once.")
        return cleaned

    def brief_values(self) -> dict:
        """The keyword arguments of `brief_create`, from a valid form."""
        data = self.cleaned_data
        return {
            "topic": data["topic"],
            "section": data["section"],
            "angle": data["angle"],
            "keywords": data["keywords"],
            "tone": data["tone"],
            "format": data["format"],
            "target_words": data["target_words"],
            "topics": list(data["topics"]),
            "source_pages": [data[name] for name in SOURCE_FIELDS if data.get(name)],
            "audience_key": data["audience_key"].strip(),
        }


class RegenerateForm(forms.Form):
    """The feedback a regeneration answers: the reviewer's comment, editable."""

    feedback = forms.CharField(
        max_length=FEEDBACK_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Sent to the writer with the brief; the new version answers it.",
    )


class SectionRegenerateForm(forms.Form):
    """One section of the draft, chosen by its heading, and the comment it answers."""

    section = forms.TypedChoiceField(
        coerce=int,
        help_text="Only this section is rewritten; every other block stays as it is.",
    )
    feedback = forms.CharField(
        label="Comment",
        max_length=FEEDBACK_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What to change in this section, e.g. “shorter, and drop the "
        "melatonin sentence” or “focus on night-shift workers”.",
    )

    def __init__(self, *args, sections=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["section"].choices = [
            (section.index, section.heading) for section in sections
        ]
