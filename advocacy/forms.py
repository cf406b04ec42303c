import json
import time

from django import forms
from django.conf import settings
from django.core import signing
from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from advocacy import services
from advocacy.models import Action, Campaign, PressMention
from advocacy.services import normalize_email
from advocacy.sharing import X_LINK_LENGTH, X_MAX_WEIGHTED_LENGTH
from archive.spreadsheets import FORMULA_STARTS
from stories import images

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


# --- The back office ---------------------------------------------------------------------------------


def https_formfield(field, **kwargs):
    """Form fields as the model says, with https:// assumed for an address typed without a scheme."""
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


def _prepared_image(upload) -> images.Prepared:
    """Clean an uploaded image, or raise the field's error saying what is wrong with it."""
    try:
        return services.image_prepare(upload=upload)
    except images.ImageRejected as rejected:
        raise forms.ValidationError(rejected.message, code=rejected.code) from rejected


class CampaignAdminForm(forms.ModelForm):
    """The campaign, with its photo uploaded here and cleaned before anything is saved."""

    photo_upload = forms.FileField(
        label=capfirst(_("photo")),
        required=False,
        help_text=_(
            "JPEG, PNG or WebP, shown at the top of the page and when the page is shared. Location, camera "
            "details and every other hidden detail are removed; readers only see copies rebuilt from the pixels."
        ),
    )
    photo_remove = forms.BooleanField(label=capfirst(_("remove the photo")), required=False)

    class Meta:
        model = Campaign
        fields = ["photo_alt", "photo_caption", "photo_credit"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.prepared_photo: images.Prepared | None = None

    def clean_photo_upload(self):
        upload = self.cleaned_data.get("photo_upload")
        if upload:
            self.prepared_photo = _prepared_image(upload)
        return upload

    def clean(self):
        cleaned = super().clean()
        keeps_photo = bool(self.instance.photo) and not cleaned.get("photo_remove")
        if cleaned.get("photo_upload") and cleaned.get("photo_remove"):
            self.add_error("photo_remove", _("Upload a new photo or remove the photo, not both."))
        elif self.prepared_photo is not None or keeps_photo:
            alts = [f"photo_alt_{code}" for code, _name in settings.LANGUAGES]
            if not any((cleaned.get(name) or "").strip() for name in alts if name in self.fields):
                self.add_error(alts[0], _("Describe the photo for readers who cannot see it."))
        return cleaned


class PressMentionAdminForm(forms.ModelForm):
    """A press mention, with its logo uploaded here and cleaned before anything is saved."""

    logo_upload = forms.FileField(
        label=capfirst(_("logo")),
        required=False,
        help_text=_(
            "PNG, JPEG or WebP; SVG is not accepted. A transparent background becomes white. Readers get a "
            "copy rebuilt from the pixels, from this site."
        ),
    )

    class Meta:
        model = PressMention
        fields = ["name", "link", "alt_text", "position", "is_active"]
        formfield_callback = https_formfield

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.prepared_logo: images.Prepared | None = None

    def clean_logo_upload(self):
        upload = self.cleaned_data.get("logo_upload")
        if upload:
            self.prepared_logo = _prepared_image(upload)
        elif not self.instance.logo:
            raise forms.ValidationError(_("Upload the outlet's logo."), code="required")
        return upload


class ActionAdminForm(forms.ModelForm):
    """An action; the kind menu names which fields each kind uses, for the script that hides the others."""

    class Meta:
        model = Action
        fields = ["kind"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "kind" in self.fields:
            kinds = {name: [str(kind) for kind in kinds] for name, kinds in Action.KIND_FIELDS.items()}
            self.fields["kind"].widget.attrs["data-kind-fields"] = json.dumps(kinds, sort_keys=True)
        for code, _name in settings.LANGUAGES:
            name = f"post_template_{code}"
            if name in self.fields:
                self.fields[name].widget.attrs.update(
                    {
                        "data-x-count": "",
                        "data-x-limit": X_MAX_WEIGHTED_LENGTH,
                        "data-x-fits": _(
                            "{count} of {limit} characters as X counts them, with the campaign link "
                            "(every link counts as {link}; Korean letters count twice)."
                        ).format(count="{count}", limit="{limit}", link=X_LINK_LENGTH),
                        "data-x-over": _(
                            "{count} of {limit} characters as X counts them, with the campaign link: "
                            "cut {over} characters."
                        ),
                        "data-x-over-one": _(
                            "{count} of {limit} characters as X counts them, with the campaign link: cut 1 character."
                        ),
                    }
                )


class RecipientImportForm(forms.Form):
    """A list of recipients, pasted or uploaded, and the letter to add them to."""

    text = forms.CharField(
        label=capfirst(_("list")),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 12, "cols": 100, "spellcheck": "false"}),
        help_text=_(
            "One recipient a line: name, email address, country (its code, such as US, or its name) or group for "
            "every reader, then the name in Korean. Commas or tabs between them, as a spreadsheet copies them. "
            "A first line naming the columns (name, email, country, name_ko, kind) may give another order."
        ),
    )
    upload = forms.FileField(
        label=capfirst(_("or a CSV file")), required=False, help_text=_("UTF-8, the same columns.")
    )
    action = forms.ModelChoiceField(
        label=capfirst(_("add them to the letter of")),
        queryset=Action.objects.none(),
        required=False,
        help_text=_("Leave empty to add them to the directory only."),
    )
    digest = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, may_change_letters: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        letters = Action.objects.filter(kind=Action.Kind.LETTER).select_related("campaign")
        self.fields["action"].queryset = letters if may_change_letters else Action.objects.none()
        self.fields["action"].label_from_instance = lambda action: f"{action.campaign} — {action.display_heading}"

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("upload")
        if upload:
            if upload.size > services.MAX_IMPORT_BYTES:
                self.add_error(
                    "upload",
                    _("The file is too large: at most {count} KB.").format(count=services.MAX_IMPORT_BYTES // 1024),
                )
                return cleaned
            try:
                cleaned["text"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                self.add_error("upload", _("Save the file as CSV in UTF-8, then upload it again."))
                return cleaned
        if not (cleaned.get("text") or "").strip():
            self.add_error("text", _("Paste a list or upload a file."))
        return cleaned
