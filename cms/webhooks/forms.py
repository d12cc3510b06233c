"""The endpoint form of the admin: events as checkboxes, the URL checked."""

from django import forms
from wagtail.admin.forms import WagtailAdminModelForm

from cms.webhooks.events import WebhookEvent
from cms.webhooks.models import WebhookEndpoint
from cms.webhooks.transport import TargetRefused, target_check


class WebhookEndpointForm(WagtailAdminModelForm):
    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        help_text="Where events are POSTed (http or https).",
    )
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="The events sent to this endpoint.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "events", "secret", "active"]

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            target_check(url)
        except TargetRefused as refused:
            raise forms.ValidationError(str(refused)) from refused
        return url

    def save(self, commit: bool = True):
        if self.instance.pk is None and self.for_user is not None:
            self.instance.created_by = self.for_user
        return super().save(commit=commit)
