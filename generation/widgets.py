"""Admin form widgets of the generation app."""

from django import forms
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

# Filters the options as the editor types; checked ones always stay visible.
_FILTER_SCRIPT = """
<script>
(function () {
  var box = document.currentScript.previousElementSibling;
  var input = box.querySelector("input[type=search]");
  var count = box.querySelector("[data-chosen-count]");
  var options = Array.prototype.slice.call(box.querySelectorAll("label"));
  function update() {
    var words = input.value.trim().toLowerCase();
    var chosen = 0;
    options.forEach(function (label) {
      var checkbox = label.querySelector("input");
      if (checkbox.checked) chosen += 1;
      var match = !words || label.textContent.toLowerCase().indexOf(words) !== -1;
      label.parentElement.hidden = !(match || checkbox.checked);
    });
    count.textContent = chosen ? chosen + " chosen" : "none chosen";
  }
  input.addEventListener("input", update);
  box.addEventListener("change", update);
  input.addEventListener("keydown", function (event) {
    if (event.key !== "Enter") return;
    event.preventDefault();  // Enter ticks the only match rather than submitting
    var visible = options.filter(function (label) {
      return !label.parentElement.hidden && !label.querySelector("input").checked;
    });
    if (visible.length === 1) { visible[0].querySelector("input").click(); }
  });
  update();
})();
</script>
"""


class SearchableCheckboxes(forms.CheckboxSelectMultiple):
    """Checkboxes in a scrolling box with a filter field above them.

    Forty site topics as a bare list made the form a wall of checkboxes; typing
    a few letters narrows them, and the checked ones stay in view. Plain
    checkboxes underneath: the form posts and validates exactly as before, and
    works without script (the filter field is then inert).
    """

    def __init__(self, *args, placeholder: str = "Type to filter…", **kwargs):
        super().__init__(*args, **kwargs)
        self.placeholder = placeholder

    def render(self, name, value, attrs=None, renderer=None) -> SafeString:
        checkboxes = super().render(name, value, attrs, renderer)
        identifier = (attrs or {}).get("id") or f"id_{name}"
        return format_html(
            '<div class="generation-searchable-checkboxes" data-searchable-checkboxes>'
            '<p class="w-flex w-gap-2 w-items-center">'
            '<input type="search" id="{}_filter" placeholder="{}" '
            'aria-label="Filter the choices" autocomplete="off" '
            'style="max-width: 20rem">'
            '<span class="w-help-text" data-chosen-count></span></p>'
            '<div style="max-height: 14rem; overflow-y: auto; border: 1px solid '
            "var(--w-color-border-field-default, #ccc); border-radius: .3rem; "
            'padding: .25rem .75rem">{}</div></div>{}',
            identifier,
            self.placeholder,
            checkboxes,
            mark_safe(_FILTER_SCRIPT),  # noqa: S308 - a constant
        )
