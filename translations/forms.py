from django import forms
from django.utils.translation import gettext_lazy as _

from archive.validators import BODY_VALIDATORS, TEXT_VALIDATORS
from translations.registry import Translatable

LONG_FIELDS = {"summary", "bio", "body", "recap"}


class TranslationForm(forms.Form):
    """The translator's text for one object in one language, with a guard against stale saves."""

    opened_at = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, entry: Translatable, language: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.entry = entry
        for name in entry.fields:
            model_field = entry.model._meta.get_field(f"{name}_{language}")
            # The untranslated field's name ("Title"), not modeltranslation's "title [en]".
            label = entry.field_label(name)
            if name in LONG_FIELDS:
                field = forms.CharField(
                    label=label,
                    required=False,
                    widget=forms.Textarea(attrs={"rows": 16 if name == "body" else 4, "lang": language}),
                    validators=BODY_VALIDATORS if name == "body" else TEXT_VALIDATORS,
                )
            else:
                field = forms.CharField(
                    label=label,
                    required=False,
                    max_length=model_field.max_length,
                    widget=forms.TextInput(attrs={"lang": language}),
                    validators=TEXT_VALIDATORS,
                )
            self.fields[name] = field

    def text(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name, "") for name in self.entry.fields}


class PoImportForm(forms.Form):
    file = forms.FileField(label=_("PO file"))
