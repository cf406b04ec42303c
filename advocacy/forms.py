import time

from django import forms
from django.core import signing
from django.utils.translation import gettext_lazy as _

from advocacy.services import normalize_email
from archive.spreadsheets import FORMULA_STARTS

STARTED_SALT = "advocacy.newsletter.started"
# People take longer than this to type an address and press the button; robots usually do not.
MIN_FILL_SECONDS = 2
# A form older than this (a page left open for a month, a token collected once and replayed) is
# treated as just opened: the reader is asked to press the button again.
MAX_FORM_AGE = 30 * 24 * 3600


def started_token() -> str:
    """A signed note of when a form was shown, so the server needs to remember nothing."""
    return signing.dumps(int(time.time() * 1000), salt=STARTED_SALT)


def seconds_since(token: str) -> float | None:
    """How long ago the form carrying ``token`` was shown, or None when the token is missing or forged."""
    try:
        started = signing.loads(token or "", salt=STARTED_SALT, max_age=MAX_FORM_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(started, int):
        return None
    return time.time() - started / 1000


class SubscribeForm(forms.Form):
    """The newsletter sign-up: an address, a field for robots only, and where the reader signed up."""

    email = forms.EmailField(
        label=_("Your email address"),
        max_length=254,
        error_messages={
            "required": _("Enter your email address."),
            "invalid": _("Enter an email address such as name@example.org."),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )
    # The honeypot: hidden from people by the stylesheet and from assistive technology by aria-hidden
    # on its wrapper; robots that fill in every field fill this one too.
    website = forms.CharField(
        label=_("Leave this field empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )
    campaign = forms.SlugField(required=False, widget=forms.HiddenInput)
    # When the form was shown, signed: see filled_too_fast.
    started = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["started"].initial = started_token()

    def clean_email(self) -> str:
        email = normalize_email(self.cleaned_data["email"])
        # Valid, but it would run as a formula in a spreadsheet export.
        if email.startswith(FORMULA_STARTS):
            raise forms.ValidationError(_("Enter an email address such as name@example.org."))
        return email

    def is_robot(self) -> bool:
        return bool(self.cleaned_data.get("website", "").strip())

    def filled_too_fast(self) -> bool:
        """Whether the form came back sooner than a person fills it in, or without a valid timestamp."""
        elapsed = seconds_since(self.cleaned_data.get("started", ""))
        return elapsed is None or elapsed < MIN_FILL_SECONDS

    def with_fresh_timestamp(self) -> "SubscribeForm":
        """The same form, what the reader typed kept, timed again from now."""
        data = self.data.copy()
        data["started"] = started_token()
        return SubscribeForm(data)
