"""The identifying-detail guard: no public text may contain a storyteller's identifying terms.

Model ``clean()`` methods call ``check()`` whenever an object is (or stays) public, so the
admin, the services and the privacy_audit command all apply the same rule.
"""

import html
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Fold text so that case, full/half width, invisible characters and spacing cannot hide a term."""
    # NFKC folds full-width Latin and half-width forms and composes Hangul jamo into syllables.
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    visible = "".join(char for char in folded if unicodedata.category(char) not in {"Cf", "Cc"} or char in "\n\t")
    return _SPACE.sub(" ", visible)


@dataclass(frozen=True)
class Finding:
    """One protected term found in one piece of public text."""

    term: str
    where: str
    site_wide: bool = False

    def message(self) -> str:
        return _("“{term}” appears in {where}.").format(term=self.term, where=self.where)


@sensitive_variables()
def find_terms(texts: Iterable[tuple[str, str]], terms: Iterable[tuple[str, bool]]) -> list[Finding]:
    """Return every match; ``texts`` yields (place, text) and ``terms`` yields (term, is_site_wide)."""
    folded_terms = [(term, normalise(term).strip(), site_wide) for term, site_wide in terms]
    findings = []
    for where, text in texts:
        haystacks = readings(text)
        for term, folded, site_wide in folded_terms:
            if folded and any(folded in haystack for haystack in haystacks):
                findings.append(Finding(term=term, where=where, site_wide=site_wide))
    return findings


_TAG = re.compile(r"<[^>]*>")


def readings(text: str) -> set[str]:
    """Every way a reader may meet this text, folded: as written, and as rendered from Markdown.

    Markup can split a term in the source while the page shows it whole ("Kim Sun**hee**",
    "Kim Sun&#104;ee", "혜*산*"), so the guard also reads the text with tags removed and
    character references decoded, once with tags dropped and once with tags as spaces.
    """
    from archive.richtext import render_markdown

    variants = {text or ""}
    for markup in (text or "", render_markdown(text or "")):
        variants.add(html.unescape(_TAG.sub("", markup)))
        variants.add(html.unescape(_TAG.sub(" ", markup)))
    return {normalise(variant) for variant in variants}


def _translated(obj, fields: dict[str, str]) -> list[tuple[str, str]]:
    texts = []
    for field, label in fields.items():
        for code, language in settings.LANGUAGES:
            value = getattr(obj, f"{field}_{code}", "") or ""
            texts.append((_("{field} ({language})").format(field=label, language=language), value))
    return texts


def _image_texts(image) -> list[tuple[str, str]]:
    return _translated(
        image, {"alt_text": _("photo alt text"), "caption": _("photo caption"), "credit": _("photo credit")}
    )


def public_texts(obj) -> list[tuple[str, str]]:
    """Everything editors wrote that a reader of this object sees, in every language."""
    from stories.models import Part, Story, StoryImage, Storyteller

    if isinstance(obj, StoryImage):
        return _image_texts(obj) + public_texts(obj.part)
    if isinstance(obj, Part):
        own = _translated(obj, {"title": _("part title"), "summary": _("part summary"), "body": _("part body")})
        # A photo's alt text, caption and credit are read (and read aloud) with the part.
        photos = [text for image in obj.images.all() for text in _image_texts(image)] if obj.pk else []
        return own + photos + public_texts(obj.story)
    if isinstance(obj, Story):
        own = _translated(obj, {"title": _("story title"), "summary": _("story summary")})
        return own + public_texts(obj.storyteller)
    if isinstance(obj, Storyteller):
        return _translated(obj, {"pseudonym": _("pseudonym"), "bio": _("storyteller bio")})
    if obj._meta.label_lower == "advocacy.campaign":
        fields = {
            "kicker": _("campaign kicker"),
            "title": _("campaign title"),
            "byline": _("campaign byline"),
            "summary": _("campaign summary"),
            "body": _("campaign body"),
        }
        action_fields = {
            "heading": _("action heading"),
            "blurb": _("action text"),
            "subject_template": _("letter subject"),
            "body_template": _("letter text"),
            "post_template": _("post text"),
            "button_label": _("button label"),
        }
        actions = (
            [text for action in obj.actions.all() for text in _translated(action, action_fields)] if obj.pk else []
        )
        return _translated(obj, fields) + actions
    raise TypeError(f"No public text is defined for {type(obj).__name__}")


def storyteller_of(obj):
    """Return whose identifying terms apply to an object's public text (None: only site-wide terms)."""
    from stories.models import Part, Story, StoryImage, Storyteller

    if not isinstance(obj, (Part, Story, StoryImage, Storyteller)):
        return None  # a campaign speaks for no single storyteller

    if isinstance(obj, StoryImage):
        return obj.part.story.storyteller
    if isinstance(obj, Part):
        return obj.story.storyteller
    if isinstance(obj, Story):
        return obj.storyteller
    return obj


@sensitive_variables()
def protected_terms(storyteller) -> list[tuple[str, bool]]:
    """Return the storyteller's identifying terms and the site-wide protected terms.

    Raises IdentityKeyMissing when the terms cannot be read: the guard fails closed.
    """
    from stories.fields import identity_cipher
    from stories.models import ProtectedTerm, StorytellerIdentity

    identity_cipher()
    terms = [(term, True) for term in ProtectedTerm.objects.values_list("term", flat=True)]
    if storyteller is not None and storyteller.pk:
        identity = StorytellerIdentity.objects.filter(storyteller=storyteller).first()
        if identity is not None:
            terms = [(term, False) for term in identity.terms()] + terms
    return terms


@sensitive_variables()
def findings_for(obj) -> list[Finding]:
    """Check an object's public text against its storyteller's terms and the site-wide ones."""
    return find_terms(public_texts(obj), protected_terms(storyteller_of(obj)))


@sensitive_variables()
def check_texts(texts: list[tuple[str, str]], storyteller, *, refusal: str) -> None:
    """Refuse, naming every match and where it is, when any of the texts holds a protected term.

    Fails closed: without the identity key the terms cannot be read, so nothing passes.
    """
    from stories.fields import IdentityKeyMissing

    try:
        findings = find_terms(texts, protected_terms(storyteller))
    except IdentityKeyMissing as error:
        raise ValidationError(
            _("The identity key is missing on this server, so the text cannot be checked for identifying details.")
        ) from error
    if findings:
        raise ValidationError([refusal] + [finding.message() for finding in findings])


def check(obj) -> None:
    """Refuse to let an object whose public text holds identifying details be (or stay) public."""
    check_texts(
        public_texts(obj),
        storyteller_of(obj),
        refusal=_("This cannot be made public because it contains identifying details:"),
    )
