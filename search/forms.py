from django import forms
from django.utils.translation import gettext_lazy as _

from search.text import query_words

MAX_QUERY_LENGTH = 200


class SearchForm(forms.Form):
    """A reader's search: words, and optionally a theme. Every failure is a message, never an error page."""

    q = forms.CharField(
        label=_("Search the stories"),
        required=False,
        max_length=MAX_QUERY_LENGTH,
        error_messages={
            "max_length": _("Your search is too long. Use at most %(limit_value)d characters, a few words.")
        },
    )
    theme = forms.SlugField(required=False, error_messages={"invalid": _("There is no such theme.")})

    def clean_q(self) -> str:
        # Control characters are separators, like spaces (a NUL never gets here: it is answered with a 404).
        return " ".join(
            "".join(
                " " if ord(char) < 32 or 127 <= ord(char) < 160 else char for char in self.cleaned_data["q"]
            ).split()
        )

    def words(self) -> list[str]:
        return query_words(self.cleaned_data.get("q", "")) if self.is_valid() else []
