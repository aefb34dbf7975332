"""The offer editor's form: terms in plain units (prices in the currency, shares in percent),
turned into licensing's `OfferTerms` (integer micros and basis points) exactly."""

import datetime
import uuid
from decimal import Decimal, InvalidOperation

from django import forms
from django.conf import settings

from core.money import AmountError, parse_micros
from licensing import services as licensing

MICROS = 1_000_000
MAX_AMOUNT_MICROS = 10**9 * MICROS
PRICE_UNITS_OF_USE = ("retrieved_source", "cited_source", "1k_tokens")
PRICED = ("use", "subscription", "purchase")  # the payment types with a price; others ignore it


def parse_amount(text: str, *, field: str = "amount") -> int:
    """Return '0.0025' as 2500 micros, exactly (core.money.parse_micros); refuse negatives,
    more than six decimals and more than a billion."""
    try:
        return parse_micros(text, max_micros=MAX_AMOUNT_MICROS)
    except AmountError as exc:
        raise forms.ValidationError(str(exc)) from exc


def parse_percent(text: str) -> int:
    """Return '12.5' (percent) as 1250 basis points; at most two decimals."""
    try:
        percent = Decimal(text.strip().rstrip("%"))
    except InvalidOperation as exc:
        raise forms.ValidationError("Enter a percentage like 20 or 12.5.") from exc
    bps = percent * 100
    if not percent.is_finite() or bps != bps.to_integral_value():
        raise forms.ValidationError("At most two decimals.")
    if not 0 <= bps <= 10_000:
        raise forms.ValidationError("Between 0 and 100.")
    return int(bps)


def amount_text(micros: int) -> str:
    """Return 2500 micros as '0.0025' (the form shows prices as they were typed)."""
    text = f"{Decimal(micros) / MICROS:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


class OfferForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="Agents see it in the catalog.")
    collections = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple, help_text="The collections this offer licenses."
    )
    usage_types = forms.MultipleChoiceField(
        choices=licensing.USAGE_TYPE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        initial=["ai-input"],
        label="Permitted uses",
        help_text="RSL usage types. Answers grounded in your content are “AI input”.",
    )
    payment_type = forms.ChoiceField(
        choices=licensing.PAYMENT_TYPE_CHOICES, initial="use", label="How agents pay"
    )
    price = forms.CharField(
        required=False,
        max_length=20,
        label=f"Price ({settings.LICENSING_CURRENCY})",
        help_text="Per use, per period or once, as the payment type says. 0.002 = 1/5 cent.",
    )
    price_unit = forms.ChoiceField(
        required=False,
        choices=[
            (value, label)
            for value, label in licensing.PRICE_UNIT_CHOICES
            if value in PRICE_UNITS_OF_USE
        ],
        label="Pay per use: charged",
        help_text="Per source retrieved, per source cited, or per 1,000 tokens of your text.",
    )
    period = forms.ChoiceField(
        required=False,
        choices=[("", "—"), *licensing.PERIOD_CHOICES],
        label="Subscription period",
    )
    revenue_share = forms.CharField(
        required=False,
        max_length=8,
        label="Revenue share (%)",
        help_text="Your share of what each answer earns, split between sources by attribution.",
    )
    revenue_share_min = forms.CharField(
        required=False,
        max_length=20,
        label=f"Revenue share: least per use ({settings.LICENSING_CURRENCY})",
    )
    max_snippet_chars = forms.IntegerField(
        required=False,
        min_value=1,
        label="Longest quote (characters)",
        help_text="Leave empty for no limit.",
    )
    citation_required = forms.BooleanField(required=False, label="Answers must cite the source")
    territories = forms.CharField(
        required=False,
        max_length=200,
        help_text="Country codes where the licence holds, e.g. US, GB. Empty: everywhere.",
    )
    expires_on = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        label="Expires on",
        help_text="Leave empty for no end.",
    )
    auto_accept = forms.BooleanField(
        required=False,
        label="Agents may use it without accepting first (auto-accept)",
    )

    def __init__(self, *args, collections=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["collections"].choices = [(str(c.id), c.name) for c in collections]

    def clean_price(self) -> int:
        text = self.cleaned_data["price"]
        return parse_amount(text) if text.strip() else 0

    def clean_revenue_share_min(self) -> int:
        text = self.cleaned_data["revenue_share_min"]
        return parse_amount(text) if text.strip() else 0

    def clean_revenue_share(self) -> int:
        text = self.cleaned_data["revenue_share"]
        return parse_percent(text) if text.strip() else 0

    def clean_territories(self) -> list[str]:
        return [t.strip().upper() for t in self.cleaned_data["territories"].split(",") if t.strip()]

    def terms(self) -> licensing.OfferTerms:
        """Return the cleaned form as licensing's terms (which licensing validates)."""
        data = self.cleaned_data
        payment = data["payment_type"]
        expires = data.get("expires_on")
        return licensing.OfferTerms(
            collection_ids=tuple(uuid.UUID(c) for c in data["collections"]),
            usage_types=tuple(data["usage_types"]),
            payment_type=payment,
            price_micros=data["price"] if payment in PRICED else 0,
            price_unit=(data["price_unit"] or "retrieved_source") if payment == "use" else "none",
            currency=settings.LICENSING_CURRENCY,
            period=data["period"] if payment == "subscription" else "",
            revenue_share_bps=data["revenue_share"] if payment == "revenue_share" else 0,
            revenue_share_min_micros=(
                data["revenue_share_min"] if payment == "revenue_share" else 0
            ),
            max_snippet_chars=data.get("max_snippet_chars"),
            citation_required=data["citation_required"],
            territories=tuple(data["territories"]),
            expires_at=(
                datetime.datetime.combine(expires, datetime.time(), tzinfo=datetime.UTC)
                if expires
                else None
            ),
        )


def initial_of(offer: licensing.OfferInfo) -> dict:
    """Return an offer's current terms as the form's initial values."""
    terms = offer.terms
    return {
        "name": offer.name,
        "collections": [str(c) for c in terms.collection_ids],
        "usage_types": list(terms.usage_types),
        "payment_type": terms.payment_type,
        "price": amount_text(terms.price_micros) if terms.price_micros else "",
        "price_unit": terms.price_unit if terms.price_unit in PRICE_UNITS_OF_USE else "",
        "period": terms.period,
        "revenue_share": (
            f"{Decimal(terms.revenue_share_bps) / 100:f}".rstrip("0").rstrip(".")
            if terms.revenue_share_bps
            else ""
        ),
        "revenue_share_min": (
            amount_text(terms.revenue_share_min_micros) if terms.revenue_share_min_micros else ""
        ),
        "max_snippet_chars": terms.max_snippet_chars,
        "citation_required": terms.citation_required,
        "territories": ", ".join(terms.territories),
        "expires_on": terms.expires_at.date() if terms.expires_at else None,
        "auto_accept": offer.auto_accept,
    }
