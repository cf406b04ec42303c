from django import forms
from django.utils.translation import gettext_lazy as _

from advocacy.services import normalize_email
from archive.spreadsheets import FORMULA_STARTS


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

    def clean_email(self) -> str:
        email = normalize_email(self.cleaned_data["email"])
        # Valid, but it would run as a formula in a spreadsheet export.
        if email.startswith(FORMULA_STARTS):
            raise forms.ValidationError(_("Enter an email address such as name@example.org."))
        return email

    def is_robot(self) -> bool:
        return bool(self.cleaned_data.get("website", "").strip())
