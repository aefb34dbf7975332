"""Forms of the provider's content pages: collections, uploads and canonical URLs."""

from django import forms
from django.conf import settings


class CollectionForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="Agents see it in the catalog.")
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What the collection holds, in a sentence or two.",
    )
    language = forms.CharField(max_length=16, initial="en", help_text="A language code: en, fr…")
    topics = forms.CharField(
        required=False, max_length=500, help_text="Comma-separated, e.g. climate, energy."
    )

    def clean_topics(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data["topics"].split(",") if t.strip()]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.Field):
    """Every file chosen, unchecked: an empty or broken file is the ingestion's to report."""

    widget = MultipleFileInput

    def clean(self, value):
        files = [f for f in (value or []) if f]
        if not files:
            raise forms.ValidationError("Choose at least one file.", code="required")
        return files


class UploadForm(forms.Form):
    """Several files at once. Rendered, and errors placed, by the page; the files themselves
    are checked by the catalog (type, size), each file's content by the ingestion job."""

    files = MultipleFileField(
        widget=MultipleFileInput(attrs={"accept": ".txt,.md,.html,.htm,.pdf,.jsonl,.csv"}),
        label="Files",
        help_text=(
            f"Up to {settings.INGESTION_MAX_FILES_PER_UPLOAD} files of "
            f"{settings.INGESTION_MAX_UPLOAD_BYTES // (1024 * 1024)} MB each: text, Markdown, "
            "HTML, PDF, or JSONL/CSV records (one document per line)."
        ),
    )


class CanonicalURLForm(forms.Form):
    source_url = forms.CharField(
        required=False,
        max_length=2048,
        label="Canonical URL",
        widget=forms.URLInput(attrs={"placeholder": "https://example.com/the-original-page"}),
        help_text="Citations of this document link here. Leave empty to cite it without a link.",
    )
