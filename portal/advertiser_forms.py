"""The advertiser's forms: campaigns (budgets typed in the currency, turned into integer micros
exactly; a schedule in UTC; pacing) and ad units (text, link, targeting, bid). What the words
may say, which ids exist and whether a bid fits the budget is ads.services' to decide: its
refusals are shown next to these fields, which carry the services' names where they can."""

import uuid
from datetime import UTC, datetime

from django import forms
from django.conf import settings

from ads import services as ads
from core.money import format_micros
from portal.agent_forms import AmountField

CURRENCY = settings.LICENSING_CURRENCY
MINUTE = "%Y-%m-%dT%H:%M"
PACING_CHOICES = (
    ("even", "Even: spread each day's budget over the day"),
    ("asap", "As soon as possible"),
)
BID_TYPE_CHOICES = (
    ("cpm", "Per 1,000 times shown (CPM)"),
    ("cpc", "Per click (CPC)"),
)
CATEGORY_TEXT = {
    "finance": "Finance and investing",
    "health": "Health and medicine",
    "gambling": "Gambling",
    "alcohol": "Alcohol",
    "politics": "Politics and advocacy",
    "software": "Software and developer tools",
    "education": "Education and training",
    "travel": "Travel",
    "retail": "Retail and consumer goods",
    "other": "Other",
}
# Ad units' targeting lists of ids the form offers as names (public offers' collections and
# providers) and those typed as ids (agent organizations: no list of them is public).
PICKED = ("collections", "exclude_collections", "providers", "exclude_providers")
TYPED_IDS = ("agent_orgs", "exclude_agent_orgs")
WORDS = ("keywords", "topics")
# ads.services' field names -> the forms'
FIELDS = {
    "total_budget_micros": "total_budget",
    "daily_budget_micros": "daily_budget",
    "max_bid_micros": "max_bid",
    "targeting": "keywords",
}


def category_text(code: str) -> str:
    return CATEGORY_TEXT.get(code, code.replace("_", " ").capitalize())


def amount_text(micros: int | None) -> str:
    """Return micros as the form shows them ('0.0025', '250'), or '' for none."""
    return "" if micros is None else format_micros(micros)


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime(MINUTE) if value else ""


class UTCDateTimeField(forms.DateTimeField):
    """A date and time typed in UTC (`<input type="datetime-local">`), to the minute."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=MINUTE)

    def to_python(self, value):
        found = super().to_python(value)
        return found.astimezone(UTC) if found else None


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="For you: agents never see it.")
    total_budget = AmountField(
        required=True,
        label=f"Total budget ({CURRENCY})",
        help_text="The most this campaign will ever spend, e.g. 250 or 49.50.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    daily_budget = AmountField(
        label=f"Daily budget ({CURRENCY})",
        help_text="The most it spends in a day (UTC). Leave empty for no daily limit.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    starts_at = UTCDateTimeField(
        required=False, label="Starts (UTC)", help_text="Leave empty to start now."
    )
    ends_at = UTCDateTimeField(
        required=False, label="Ends (UTC)", help_text="Leave empty to run until you end it."
    )
    pacing = forms.ChoiceField(
        choices=PACING_CHOICES,
        initial="even",
        widget=forms.RadioSelect,
        help_text="Even pacing keeps some budget for later in the day.",
    )

    def changes(self, campaign: ads.CampaignInfo | None = None) -> dict:
        """Return the cleaned form as ads.services' keyword arguments; for an existing campaign
        only what changed (a schedule shown to the minute is not moved by saving it as is)."""
        data = self.cleaned_data
        fields = {
            "name": data["name"],
            "total_budget_micros": data["total_budget"],
            "daily_budget_micros": data["daily_budget"],
            "starts_at": data["starts_at"],
            "ends_at": data["ends_at"],
            "pacing": data["pacing"],
        }
        if campaign is None:
            return fields
        if _when(data["starts_at"]) == _when(campaign.starts_at) or data["starts_at"] is None:
            del fields["starts_at"]
        if _when(data["ends_at"]) == _when(campaign.ends_at):
            del fields["ends_at"]
        return {k: v for k, v in fields.items() if k.endswith("_at") or getattr(campaign, k) != v}


def campaign_initial(campaign: ads.CampaignInfo) -> dict:
    return {
        "name": campaign.name,
        "total_budget": amount_text(campaign.total_budget_micros),
        "daily_budget": amount_text(campaign.daily_budget_micros),
        "starts_at": _when(campaign.starts_at),
        "ends_at": _when(campaign.ends_at),
        "pacing": campaign.pacing,
    }


class IdListField(forms.CharField):
    """Organization ids, one per line (or separated by commas), cleaned to a list of UUIDs."""

    widget = forms.Textarea(attrs={"rows": 2, "spellcheck": "false", "autocomplete": "off"})

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 40 * 200)
        super().__init__(**kwargs)

    def clean(self, value):
        text = super().clean(value) or ""
        ids = []
        for part in text.replace(",", "\n").split():
            try:
                ids.append(str(uuid.UUID(part)))
            except ValueError as exc:
                raise forms.ValidationError(
                    f"{part[:40]} is not an organization id (like {uuid.UUID(int=0)})."
                ) from exc
        return list(dict.fromkeys(ids))


class WordsField(forms.CharField):
    """Words or phrases separated by commas, cleaned to a list (ads.services checks each)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 4000)
        super().__init__(**kwargs)

    def clean(self, value):
        text = super().clean(value) or ""
        return [w.strip() for w in text.split(",") if w.strip()]


def _checks(label: str, help_text: str = "") -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label=label, help_text=help_text
    )


class UnitForm(forms.Form):
    title = forms.CharField(max_length=100, help_text="Shown in bold, labelled “Sponsored”.")
    body = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}))
    url = forms.CharField(
        max_length=2048,
        label="Link (URL)",
        widget=forms.URLInput(attrs={"placeholder": "https://"}),
        help_text="Where a click leads: an http:// or https:// address.",
    )
    call_to_action = forms.CharField(max_length=40, help_text="The link's words, e.g. Get a quote.")
    context_hints = forms.CharField(
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="When this ad helps, in plain words: it is matched against the question.",
    )
    keywords = WordsField(help_text="Separated by commas, e.g. heat pump, boiler.")
    topics = WordsField(help_text="Separated by commas, e.g. energy, home.")
    category = forms.ChoiceField(
        choices=[(c, category_text(c)) for c in ads.CATEGORIES],
        help_text="Providers may keep some categories away from their content.",
    )
    bid_type = forms.ChoiceField(choices=BID_TYPE_CHOICES, label="Pay", widget=forms.RadioSelect)
    max_bid = AmountField(
        required=True,
        label=f"Highest bid ({CURRENCY})",
        help_text="Per 1,000 times shown or per click. You pay the least that would still win.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    collections = _checks("Appear next to these collections", "None ticked: any collection.")
    exclude_collections = _checks("Never next to these collections")
    providers = _checks("Appear next to these providers", "None ticked: any provider.")
    exclude_providers = _checks("Never next to these providers")
    agent_orgs = IdListField(
        label="Only for these agents (organization ids)",
        help_text="One id per line. Empty: every agent that accepts sponsored content.",
    )
    exclude_agent_orgs = IdListField(label="Never for these agents (organization ids)")

    def __init__(self, *args, collections=(), providers=(), **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("collections", "exclude_collections"):
            self.fields[name].choices = list(collections)
        for name in ("providers", "exclude_providers"):
            self.fields[name].choices = list(providers)

    def unit_fields(self) -> dict:
        """Return the cleaned form as ads.services' keyword arguments for a unit."""
        data = self.cleaned_data
        return {
            "title": data["title"],
            "body": data["body"],
            "url": data["url"],
            "call_to_action": data["call_to_action"],
            "context_hints": data["context_hints"],
            "category": data["category"],
            "bid_type": data["bid_type"],
            "max_bid_micros": data["max_bid"],
            "targeting": {key: data[key] for key in (*WORDS, *PICKED, *TYPED_IDS)},
        }


def unit_initial(unit: ads.AdUnitInfo) -> dict:
    targeting = unit.targeting
    return {
        "title": unit.title,
        "body": unit.body,
        "url": unit.url,
        "call_to_action": unit.call_to_action,
        "context_hints": unit.context_hints,
        "keywords": ", ".join(targeting.keywords),
        "topics": ", ".join(targeting.topics),
        "category": unit.category,
        "bid_type": unit.bid_type,
        "max_bid": amount_text(unit.max_bid_micros),
        **{key: [str(i) for i in getattr(targeting, key)] for key in PICKED},
        **{key: "\n".join(str(i) for i in getattr(targeting, key)) for key in TYPED_IDS},
    }
