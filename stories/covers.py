"""Cover photos and share cards: what a story shows on cards and lists, and what a shared link shows.

A story's cover is one of its own photos (``Story.cover``), cleaned by the one photo pipeline
(stories/images.py) and shown by the one rule for photos: the cover appears wherever readers may see that
photo in their language (its publication row is live), and nowhere else. A list reads it in the query
it already runs, joined and checked per row, so covers cost no query of their own. Without a cover a
story is shown as a designed text card, and a shared link shows the site's own default share image;
never a picture from anywhere else.
"""

import functools
import json

from django.core.signals import setting_changed
from django.db.models import Exists, OuterRef, QuerySet
from django.dispatch import receiver
from django.templatetags.static import static
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import to_locale

from archive.i18n import absolute_url, home_url
from archive.prepared import loaded
from stories.images import RenditionUrls
from stories.models import ImagePublication, StoryImage
from stories.querysets import live_window
from stories.templatetags.typography import keep_dash

# The site's default share image (1200 x 630, the size Open Graph and Twitter cards show whole): a PNG
# drawn once from type alone (stories/management/commands/draw_share_image.py), with no real name in it.
DEFAULT_SHARE_IMAGE = "img/share-default.png"
DEFAULT_SHARE_IMAGE_SIZE = (1200, 630)


def cover_is_live(path: str, language: str, now=None, *, today=None) -> Exists:
    """Whether the cover of the story at ``path`` (``"story__"``, ``"part__story__"``) is public in the language.

    ``now`` and ``today`` as ``live_window`` takes them: parameters of a prepared query, or by default now.
    """
    return Exists(
        ImagePublication.objects.filter(
            live_window("", language, now, today=today), image_id=OuterRef(f"{path}cover_id")
        )
    )


def cover_fields(language: str) -> tuple[str, ...]:
    """What a card and a share card read of a cover photo, in the language: a prepared query's columns."""
    return ("rendition_key", "renditions", "width", "height", f"alt_text_{language}")


def loaded_cover(row: dict, language: str, path: str = "story__") -> StoryImage | None:
    """The cover of a prepared query's row while it is public (its ``cover_is_live``), else None.

    The row holds ``{path}cover_id`` and ``cover_fields(language)`` under ``{path}cover__``.
    """
    if not (row[f"{path}cover_id"] and row["cover_is_live"]):
        return None
    fields = {name: row[f"{path}cover__{name}"] for name in cover_fields(language)}
    return loaded(StoryImage, {"id": row[f"{path}cover_id"], **fields})


def with_covers(queryset: QuerySet, path: str, language: str) -> QuerySet:
    """Each row with its story's cover photo joined, and whether readers of the language may see it."""
    return queryset.select_related(f"{path}cover").annotate(cover_is_live=cover_is_live(path, language))


def show_cover(story, is_live: bool):
    """Set ``story.shown_cover``, the cover a template shows: the photo while it is public, else None."""
    story.shown_cover = story.cover if is_live and story.cover_id else None
    return story


@functools.cache
def default_image_path() -> str:
    """``static(DEFAULT_SHARE_IMAGE)``, read once: a static file's URL is fixed for a deployment (its manifest)."""
    return static(DEFAULT_SHARE_IMAGE)


@receiver(setting_changed)
def _forget_default_image(**kwargs) -> None:
    """A changed setting (tests' ``override_settings``: a static storage, a URL) may change the URL."""
    default_image_path.cache_clear()


def share_image(cover: StoryImage | None) -> dict:
    """The share card's picture: the cover's widest JPEG rendition up to the card's size, or the default image.

    Absolute URLs on the configured site (``SITE_URL``), in the active language: the photo's URL applies
    the rule for that language, so a crawler that comes back after a withdrawal gets the plain 404.
    """
    return _photo_image(cover, cover.alt_text if cover is not None else "")


def campaign_image(campaign) -> dict:
    """A campaign's share picture: its own cleaned photo (served by us while the campaign is live), or the default."""
    # Only in the reader's language: no alt text in another language under their page.
    alt = (getattr(campaign, f"photo_alt_{translation.get_language()}", "") or "").strip()
    return _photo_image(campaign.photo, alt)


def _photo_image(photo: RenditionUrls | None, alt: str) -> dict:
    """A cleaned photo's share rendition with its alt text (when there is one), or the site's default image."""
    item = photo.share_rendition() if photo is not None else None
    if item is not None:
        return {
            "url": absolute_url(photo.rendition_url(item)),
            "type": "image/jpeg",
            "width": item["width"],
            "height": item["height"],
            **({"alt": alt} if alt else {}),
        }
    width, height = DEFAULT_SHARE_IMAGE_SIZE
    return {
        "url": absolute_url(default_image_path()),
        "type": "image/png",
        "width": width,
        "height": height,
        "alt": str(_("Testimony archive")),
    }


# Inside <script type="application/ld+json"> the HTML parser ends the element at the first "</script"
# whatever the JSON means; "<!--" changes how it reads on. Escaping <, > and & as JSON escapes keeps
# the data the same and leaves no markup in it (as django.utils.html.json_script does); the two line
# separators are escaped so the text stays valid JavaScript too, for tools that read it as such.
# (Each replaced in turn: str.translate looks every character of the text up in a dict, several times slower.)
_JSON_IN_HTML = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def json_ld(data: dict) -> SafeString:
    """Structured data as JSON that is safe inside a ``<script type="application/ld+json">`` element."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=False, separators=(",", ":"))
    for character, escaped in _JSON_IN_HTML.items():
        text = text.replace(character, escaped)
    return mark_safe(text)  # noqa: S308 - every <, > and & is escaped above


# og:locale names a territory as well as a language.
OG_LOCALES = {"en": "en_US", "ko": "ko_KR"}


def _site(language: str) -> dict:
    return {
        "name": str(_("Testimony archive")),
        "url": absolute_url(home_url(language)),
        "locale": OG_LOCALES.get(language, to_locale(language)),
    }


def _card(*, kind: str, title: str, description: str, url: str, image: dict, language: str, data: dict) -> dict:
    """What a shared link shows (Open Graph and Twitter card tags) and the page's structured data."""
    site = _site(language)
    data = {
        "@context": "https://schema.org",
        **data,
        "url": url,
        "inLanguage": language,
        "image": image["url"],
        "publisher": {"@type": "Organization", "name": site["name"], "url": site["url"]},
    }
    return {
        "type": kind,
        "title": title,
        "description": description,
        "url": url,
        "image": image,
        "site_name": site["name"],
        "locale": site["locale"],
        "json_ld": json_ld(data),
    }


def _teller(story) -> dict:
    # The pseudonym the page shows, never anything from the storyteller's identity.
    return {"@type": "Person", "name": story.storyteller.pseudonym}


def part_title(part) -> str:
    """A part's title as its page's heading gives it: a single piece's is its story's, never numbered."""
    if part.is_single_piece:
        return part.story.title
    # The dash kept with the word before it, as on the page (stories/templatetags/typography.py).
    return keep_dash(
        _("{story}: Part {number} — {title}").format(story=part.story.title, number=part.number, title=part.title)
    )


def part_card(part) -> dict:
    """A part's share card: an ``Article`` that is part of its story's ``CreativeWorkSeries``, at its position."""
    language = translation.get_language()
    story = part.story
    title = part_title(part)
    description = part.summary or story.summary or ""
    data = {
        "@type": "Article",
        "headline": title,
        "name": title,
        "description": description,
        "datePublished": part.published_at.isoformat() if part.published_at else None,
        "author": _teller(story),
        "position": part.number,
        "isPartOf": {
            "@type": "CreativeWorkSeries",
            "name": story.title,
            "url": absolute_url(story.get_absolute_url()),
        },
    }
    if part.is_single_piece:
        # A single piece (a profile, an essay) is an article of its own, read at its story's address.
        del data["position"], data["isPartOf"]
    card = _card(
        kind="article",
        title=title,
        description=description,
        url=absolute_url(part.get_absolute_url()),
        image=share_image(getattr(story, "shown_cover", None)),
        language=language,
        data={key: value for key, value in data.items() if value is not None},
    )
    card["published_time"] = data["datePublished"]
    return card


def story_card(story, parts) -> dict:
    """A story's share card: the ``CreativeWorkSeries``, with its live parts in the reader's language."""
    language = translation.get_language()
    description = story.summary or ""
    data = {
        "@type": "CreativeWorkSeries",
        "name": story.title,
        "description": description,
        "author": _teller(story),
        "hasPart": [
            {
                "@type": "Article",
                "headline": part_title(part),
                "position": part.number,
                "url": absolute_url(part.get_absolute_url()),
            }
            for part in parts
        ],
    }
    return _card(
        kind="website",
        title=story.title,
        description=description,
        url=absolute_url(story.get_absolute_url()),
        image=share_image(getattr(story, "shown_cover", None)),
        language=language,
        data=data,
    )


def campaign_card(campaign, stories) -> dict:
    """A campaign's share card: a ``WebPage`` about the stories shown beside it."""
    language = translation.get_language()
    description = campaign.summary or ""
    data = {
        "@type": "WebPage",
        "name": campaign.title,
        "description": description,
        "datePublished": campaign.date.isoformat() if campaign.date else None,
        "about": [
            {"@type": "CreativeWorkSeries", "name": story.title, "url": absolute_url(story.get_absolute_url())}
            for story in stories
        ],
    }
    return _card(
        kind="article",
        title=campaign.title,
        description=description,
        url=absolute_url(campaign.get_absolute_url()),
        image=campaign_image(campaign),
        language=language,
        data={key: value for key, value in data.items() if value is not None},
    )


def part_story(row):
    """The story of a part's publication row (the API's ``shown_cover`` on lists of parts)."""
    return row.part.story
