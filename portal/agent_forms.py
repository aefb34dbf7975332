"""The agent operator's forms: spend caps and price limits typed in the currency (turned into
integer micros exactly), the catalog's filters, the usage period and the playground question."""

from django import forms
from django.conf import settings

from portal.offer_forms import parse_amount

CURRENCY = settings.LICENSING_CURRENCY


class AmountField(forms.CharField):
    """An amount typed in the currency ('5', '0.25'), cleaned to integer micros; empty: None."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)

    def clean(self, value):
        text = super().clean(value)
        if not text:
            return None
        return parse_amount(text)


class CatalogFilterForm(forms.Form):
    provider = forms.ChoiceField(required=False, label="Provider")
    topic = forms.ChoiceField(required=False, label="Topic")

    def __init__(self, *args, providers=(), topics=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].choices = [("", "Every provider"), *providers]
        self.fields["topic"].choices = [("", "Every topic"), *((t, t) for t in topics)]


class SpendCapForm(forms.Form):
    spend_cap = AmountField(
        label=f"Spend cap ({CURRENCY})",
        help_text="The most this licence may ever charge you. Leave empty for no cap.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )


class UsagePeriodForm(forms.Form):
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )


class PlaygroundForm(forms.Form):
    question = forms.CharField(
        max_length=settings.ANSWER_MAX_QUESTION_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Answered from the content you license, as the API would answer it.",
    )
    max_price = AmountField(
        label=f"Most this answer may cost ({CURRENCY})",
        help_text="Sources that would cost more are left out. Leave empty for no limit.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    max_sources = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=20,
        label="Sources at most",
        help_text=f"1 to 20; {settings.ANSWER_DEFAULT_SOURCES} if empty.",
    )
    # Set when the form is shown: submitting the same form twice asks once, and pays once.
    request_id = forms.CharField(widget=forms.HiddenInput, max_length=64)


class ReceiptForm(forms.Form):
    receipt = forms.CharField(
        label="Receipt (JSON)",
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
        max_length=200_000,
        help_text="The receipt object of an answer, as the API or the playground gave it.",
    )
