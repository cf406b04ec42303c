"""Campaign pages, the links that count what readers do, and the newsletter sign-up.

Campaign pages are cached whole and shared by every reader, so they carry no CSRF token and set no
cookie. The newsletter form gets its token from pages that are never cached: the sign-up page
itself, or, where the form sits on a campaign page, ``csrf_token_json`` fetched by our script when
the reader submits. Without JavaScript the campaign page links to the sign-up page instead.
"""

from operator import itemgetter

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    JsonResponse,
)
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import get_conditional_response
from django.utils.http import quote_etag
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST, require_safe
from django.views.generic import DetailView, TemplateView

from advocacy import ratelimit, services
from advocacy.forms import SubscribeForm
from advocacy.models import (
    Action,
    ActionCount,
    Campaign,
    Country,
    NewsletterMessages,
    PressMention,
    Recipient,
    RecipientGroup,
    Renditions,
)
from advocacy.querysets import (
    CAMPAIGN_PAGE,
    CAMPAIGN_STORIES,
    LETTER_RECIPIENTS,
    STORY_CARD_FIELDS,
    action_page_columns,
    campaign_page_columns,
    columns,
)
from advocacy.sharing import letter_link, multiline, single_line, x_intent_url
from archive.i18n import absolute_url, hreflang_links, language_links
from archive.prepared import loaded
from archive.storage import StorageUnavailable, open_stored
from stories import covers, images
from stories.models import Story, Storyteller, private_storage
from stories.querysets import reading_language
from stories.views import storage_unavailable
from translations.registry import LABEL_LANGUAGE

# Sign-up attempts one client network may make in SIGNUP_WINDOW seconds.
SIGNUPS_PER_WINDOW = 5
SIGNUP_WINDOW = 600
# Counted clicks one client network may add a minute; more still work, they are just not counted.
COUNTS_PER_MINUTE = 30

# What our script may report with a beacon, and the action kind each belongs to.
BEACON_KINDS = {
    ActionCount.Kind.LETTER_OPENED: Action.Kind.LETTER,
    ActionCount.Kind.LETTER_COPIED: Action.Kind.LETTER,
    ActionCount.Kind.POST_COPIED: Action.Kind.SOCIAL,
}


def same_origin_referrer(response: HttpResponse) -> HttpResponse:
    """Let a page's forms post to us, whatever the site-wide Referrer-Policy is.

    Under no-referrer browsers send "Origin: null" with a form post, which Django's CSRF check
    rightly refuses; same-origin sends our origin to us and still nothing to other sites.
    """
    response["Referrer-Policy"] = "same-origin"
    return response


def private(response: HttpResponse) -> HttpResponse:
    """Mark a newsletter page: it has forms, and nothing on it belongs in a search engine."""
    response["X-Robots-Tag"] = "noindex"
    return same_origin_referrer(response)


def valid_slug(value: str | None) -> str:
    """Return the value if it is a slug, else "", so that nothing else a reader sends reaches the database."""
    try:
        validate_slug(value or "")
    except ValidationError:
        return ""
    return value


def live_campaign(slug: str | None) -> Campaign | None:
    slug = valid_slug(slug)
    return Campaign.objects.live().filter(slug=slug).first() if slug else None


def written_in(obj: Country | Recipient | RecipientGroup, field: str, language: str) -> bool:
    """Say whether the field has text in the language itself, never by fallback."""
    return bool((getattr(obj, f"{field}_{language}", "") or "").strip())


def letter_context(action: Action, recipients: list[Recipient], *, campaign: Campaign) -> dict:
    """The letter in the active language, and a link per recipient, grouped by country or by group for everyone.

    An office is listed only while its label and its country's or group's name are readable in the language
    (``RecipientQuerySet.with_readability``: the original, or an approved translation); the others are counted
    in ``not_in_language``, which the page reports with a link to the language they are written in.
    """
    language = reading_language(None)
    subject = single_line(action.subject_template)
    body = multiline(action.body_template)
    # Plain text and links, built once here: the template only formats them.
    countries: dict[int, dict] = {}
    groups: dict[int, dict] = {}
    not_in_language = 0
    carries_letter = True
    for recipient in recipients:
        # Filed under a country or a group for every reader, never both (a constraint on Recipient).
        holder = recipient.group if recipient.group_id else recipient.country
        readable = getattr(recipient, "in_language", False)
        if not (readable and written_in(recipient, "label", language) and written_in(holder, "name", language)):
            # Not yet translated and approved: left out rather than shown blank or in another language.
            not_in_language += 1
            continue
        try:
            link = letter_link(address=recipient.email, subject=subject, body=body)
        except ValueError:
            # An address that is not one (typed straight into the database) is left out, not a 500.
            continue
        carries_letter = carries_letter and link.carries_letter
        if recipient.group_id:
            shelf = groups.get(recipient.group_id)
            if shelf is None:
                group = recipient.group
                shelf = groups[group.pk] = {
                    "pk": group.pk,
                    "name": group.name,
                    "offices": [],
                    "order": (group.position, group.pk),
                }
        else:
            shelf = countries.get(recipient.country_id)
            if shelf is None:
                country = recipient.country
                name = country.name
                shelf = countries[country.pk] = {
                    "code": country.code,
                    "name": name,
                    "offices": [],
                    "order": (str(name), country.code),
                }
        label = recipient.label
        shelf["offices"].append(
            {
                "label": label,
                "kind": recipient.get_kind_display(),
                "email": recipient.email,
                "href": link.href,
                "carries_letter": link.carries_letter,
                "order": (_KIND_ORDER[recipient.kind], str(label)),
            }
        )
    by_country = sorted(countries.values(), key=itemgetter("order"))
    for_everyone = sorted(groups.values(), key=itemgetter("order"))
    for shelf in [*by_country, *for_everyone]:
        shelf["offices"].sort(key=itemgetter("order"))
    return {
        "subject": subject,
        "body": body,
        "countries": by_country,
        "groups": for_everyone,
        "carries_letter": carries_letter,
        "not_in_language": _not_in_language(campaign, language, not_in_language),
    }


# The order offices are listed in within a country or group: by kind, in the order of ``Recipient.Kind``.
_KIND_ORDER = {kind: position for position, kind in enumerate(Recipient.Kind)}


def _not_in_language(campaign: Campaign, language: str, count: int) -> dict | None:
    """What the page says when offices are left out for want of a translation, as a story page says it."""
    if not count:
        return None
    names = dict(settings.LANGUAGES)
    message = ngettext(
        "The name of {count} office is not yet in {language}, so it is not listed here.",
        "The names of {count} offices are not yet in {language}, so they are not listed here.",
        count,
    ).format(count=count, language=names.get(language, language))
    versions = []
    if language != LABEL_LANGUAGE and campaign.live_in[LABEL_LANGUAGE]:
        with translation.override(LABEL_LANGUAGE):
            versions.append(
                {
                    "url": campaign.get_absolute_url(),
                    "code": LABEL_LANGUAGE,
                    "name": names[LABEL_LANGUAGE],
                    "title": getattr(campaign, f"title_{LABEL_LANGUAGE}"),
                }
            )
    return {"message": message, "versions": versions}


def action_context(action: Action, *, campaign: Campaign, campaign_url: str, recipients: list[Recipient]) -> dict:
    item = {"action": action, "template": f"advocacy/includes/action_{action.kind}.html"}
    if action.kind == Action.Kind.LETTER:
        item["letter"] = letter_context(action, recipients, campaign=campaign)
    elif action.kind == Action.Kind.SOCIAL:
        item["post"] = f"{multiline(action.post_template)}\n{campaign_url}"
    return item


def campaign_page(slug: str, language: str) -> Campaign | None:
    """The live campaign of the slug, with its actions (``shown_actions``) and whether it is live in each language.

    Two prepared queries (``archive.prepared``), whatever the campaign holds: the campaign with its actions,
    then the offices of its letters (``letter_recipients``, by action), each saying whether its labels may be
    shown in the language.
    """
    today = timezone.localdate()
    rows = CAMPAIGN_PAGE(shape={"language": language}, today=today, slug=slug)
    if not rows:
        return None
    first = rows[0]
    campaign = loaded(Campaign, {name: first[name] for name in campaign_page_columns(language)})
    # Live in the language asked for, by the query itself; in each other language, as its row says.
    campaign.live_in = {
        code: True if code == language else bool(first[f"live_{code}"]) for code, _name in settings.LANGUAGES
    }
    campaign.shown_actions = [
        loaded(Action, {name: row[f"action_{name}"] for name in action_page_columns(language)})
        for row in rows
        if row["action_id"] is not None
    ]
    campaign.letter_recipients = {}
    if any(action.kind == Action.Kind.LETTER for action in campaign.shown_actions):
        countries: dict[int, Country] = {}
        groups: dict[int, RecipientGroup] = {}
        own = columns(Recipient, language, skip=("note",))
        country_columns = columns(Country, language)
        group_columns = columns(RecipientGroup, language)
        for row in LETTER_RECIPIENTS(shape={"language": language}, campaign=campaign.pk):
            recipient = loaded(Recipient, {name: row[name] for name in own})
            recipient.in_language = row["in_language"]
            recipient.country = _shared(countries, recipient.country_id, Country, row, "in_country_", country_columns)
            recipient.group = _shared(groups, recipient.group_id, RecipientGroup, row, "in_group_", group_columns)
            campaign.letter_recipients.setdefault(row["of_action"], []).append(recipient)
    return campaign


def _shared(kept: dict, pk: int | None, model, row: dict, prefix: str, names) -> object | None:
    """The row's ``model`` object of key ``pk`` (its columns named ``prefix`` + name), one per key across rows."""
    if pk is None:
        return None
    found = kept.get(pk)
    if found is None:
        found = kept[pk] = loaded(model, {name: row[f"{prefix}{name}"] for name in names})
    return found


def campaign_stories(campaign: Campaign, language: str) -> list[Story]:
    """The stories behind the campaign readers may see beside it, each with its teller and cover (``shown_cover``).

    One prepared query (``CAMPAIGN_STORIES``): the campaign's few links, each checked with one probe of the
    publication table (``Story.objects.live_for_advocacy``).
    """
    now = timezone.now()
    stories = []
    for row in CAMPAIGN_STORIES(
        shape={"language": language}, campaign=campaign.pk, now=now, today=timezone.localdate(now)
    ):
        storyteller = loaded(
            Storyteller,
            {
                "id": row["story__storyteller_id"],
                f"pseudonym_{language}": row[f"story__storyteller__pseudonym_{language}"],
            },
        )
        story = loaded(
            Story,
            {
                "id": row["story_id"],
                "storyteller_id": storyteller.pk,
                "cover_id": row["story__cover_id"],
                **{name: row[f"story__{name}"] for name in STORY_CARD_FIELDS[language]},
            },
        )
        story._state.fields_cache["storyteller"] = storyteller
        story.shown_cover = covers.loaded_cover(row, language)
        stories.append(story)
    return stories


class CampaignDetailView(DetailView):
    template_name = "advocacy/campaign_detail.html"
    context_object_name = "campaign"

    def get_object(self, queryset=None):
        campaign = campaign_page(valid_slug(self.kwargs["slug"]), reading_language(None))
        if campaign is None:
            raise Http404
        return campaign

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        campaign = self.object
        language = translation.get_language()
        # On the configured site, never the Host a request named: the page is cached and shared.
        campaign_url = absolute_url(campaign.get_absolute_url())
        context["actions"] = [
            action_context(
                action,
                campaign=campaign,
                campaign_url=campaign_url,
                recipients=campaign.letter_recipients.get(action.pk, []),
            )
            for action in campaign.shown_actions
            if action.is_available(language)
        ]
        context["stories"] = campaign_stories(campaign, language)
        context["share"] = covers.campaign_card(campaign, context["stories"])
        urls = {}
        for code, _name in settings.LANGUAGES:
            if code == language or campaign.live_in[code]:
                with translation.override(code):
                    urls[code] = campaign.get_absolute_url()
        context["canonical_url"] = campaign_url
        # Where the page's script reports a copy or an opened letter: the same for every button and office.
        context["count_url"] = reverse("advocacy:count", args=[campaign.slug])
        context["hreflang_links"] = hreflang_links(urls)
        context["language_links"] = language_links(self.request, urls)
        context["subscribe_form"] = SubscribeForm(initial={"campaign": campaign.slug})
        # The photo's words in the reader's language only, never another's: without them it is shown as decoration.
        context["photo_caption"] = (getattr(campaign, f"photo_caption_{language}", "") or "").strip()
        context["photo_alt"] = (getattr(campaign, f"photo_alt_{language}", "") or "").strip()
        context["photo_credit"] = (getattr(campaign, f"photo_credit_{language}", "") or "").strip()
        return context

    def render_to_response(self, context, **response_kwargs):
        return same_origin_referrer(super().render_to_response(context, **response_kwargs))


@never_cache
@require_GET
def action_go(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Count a click on a share or giving link, then send the reader on. Works without JavaScript."""
    action = get_object_or_404(
        Action.objects.select_related("campaign"), pk=pk, campaign__slug=slug, campaign__in=Campaign.objects.live()
    )
    kind = action.count_kind()
    if kind is None or not action.is_available(translation.get_language()):
        raise Http404
    if action.kind == Action.Kind.SOCIAL:
        campaign_url = absolute_url(action.campaign.get_absolute_url())
        target = x_intent_url(text=action.post_template, url=campaign_url)
    else:
        target = action.url
    if ratelimit.allow_client(request, scope="count", limit=COUNTS_PER_MINUTE, window=60):
        services.action_count_add(campaign=action.campaign, kind=kind)
    response = HttpResponseRedirect(target)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


# Exempt from CSRF on purpose: this endpoint uses no cookie or session, accepts nothing but the name
# of a counter, and keeps nothing about the reader, so a forged request can do no more than the
# reader's own click. Requiring a token would mean a token on every cached campaign page.
@csrf_exempt
@never_cache
@require_POST
def action_count(request: HttpRequest, slug: str) -> HttpResponse:
    """Count a copy or an opened letter, reported by our script with a beacon."""
    campaign = get_object_or_404(Campaign.objects.live(), slug=slug)
    kind = request.POST.get("kind", "")
    if kind not in BEACON_KINDS:
        return HttpResponseBadRequest("unknown kind", content_type="text/plain")
    if not campaign.actions.filter(kind=BEACON_KINDS[kind]).exists():
        raise Http404
    if ratelimit.allow_client(request, scope="count", limit=COUNTS_PER_MINUTE, window=60):
        services.action_count_add(campaign=campaign, kind=kind)
    return HttpResponse(status=204)


@never_cache
@require_GET
def csrf_token_json(request: HttpRequest) -> JsonResponse:
    """Hand our script a CSRF token (and set its cookie) for a form that sits on a cached page."""
    return JsonResponse({"token": get_token(request)})


def subscribe_page(request: HttpRequest, form: SubscribeForm, *, status: int = 200, error: str = "") -> HttpResponse:
    campaign = live_campaign(form["campaign"].value())
    if not error and form.errors:
        # The site's own words for an address that cannot be used; the reasons above stay ours.
        error = NewsletterMessages.text(
            "failure_message", language=reading_language(None), default=_("Please check your email address.")
        )
    context = {"form": form, "error": error, "campaign": campaign}
    return private(render(request, "advocacy/subscribe.html", context, status=status))


@never_cache
@sensitive_post_parameters("email", "website")
@require_http_methods(["GET", "POST"])
def subscribe(request: HttpRequest) -> HttpResponse:
    """The newsletter sign-up: double opt-in, the same answer for every address, rate-limited per client."""
    if request.method == "GET":
        return subscribe_page(request, SubscribeForm(initial={"campaign": valid_slug(request.GET.get("campaign"))}))
    form = SubscribeForm(request.POST)
    verdict = ratelimit.check_client(request, scope="newsletter", limit=SIGNUPS_PER_WINDOW, window=SIGNUP_WINDOW)
    if verdict is ratelimit.Verdict.UNAVAILABLE:
        # The limit cannot be counted while the shared cache is down: refuse rather than write without one.
        error = _("We cannot take sign-ups just now. Nothing was saved. Please try again in a few minutes.")
        return subscribe_page(request, form, status=503, error=error)
    if not verdict:
        error = _("There have been too many sign-ups from your network. Please wait ten minutes and try again.")
        return subscribe_page(request, form, status=429, error=error)
    if not form.is_valid():
        return subscribe_page(request, form, status=400)
    if not form.is_robot() and form.filled_too_fast():
        # Robots fill the form at once; a person who was that quick (or whose page was from before
        # this check) only needs to press the button again, on a form timed from now.
        error = _("Please wait a moment, then press the button again. Nothing was sent yet.")
        fresh = form.with_fresh_timestamp()
        fresh.is_valid()
        return subscribe_page(request, fresh, status=400, error=error)
    if not form.is_robot():
        # The email is a task, sent after this commits and tried again while the mail server refuses it.
        services.subscriber_request(
            email=form.cleaned_data["email"],
            language=translation.get_language(),
            # The links in the email lead to the configured site, whatever Host the request named.
            site_url=absolute_url("/"),
        )
        campaign = live_campaign(form.cleaned_data["campaign"])
        if campaign is not None:
            services.action_count_add(campaign=campaign, kind=ActionCount.Kind.SIGNED_UP)
    return redirect("advocacy:subscribe-sent")


class SubscribeSentView(TemplateView):
    template_name = "advocacy/subscribe_sent.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["success_message"] = NewsletterMessages.text(
            "success_message", language=reading_language(None), default=_("Thank you for signing up.")
        )
        return context


def link_page(request: HttpRequest, state: str, *, status: int = 200) -> HttpResponse:
    return private(render(request, "advocacy/newsletter_link.html", {"state": state}, status=status))


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """Ask the reader to press a button to confirm; mail scanners that open links confirm nothing."""
    try:
        subscriber = services.subscriber_check_confirm_token(token=token)
    except services.LinkExpired:
        return link_page(request, "expired", status=400)
    except services.LinkInvalid:
        return link_page(request, "invalid", status=400)
    if subscriber.status == subscriber.Status.CONFIRMED:
        return link_page(request, "confirmed")
    if request.method == "POST":
        services.subscriber_confirm(token=token)
        return link_page(request, "confirmed")
    return link_page(request, "confirm")


# Exempt from CSRF on purpose: the signed link is the authority, not a cookie, and mail programs
# that offer one-click unsubscribe (RFC 8058) post to it without any token.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """Ask the reader to press a button to unsubscribe, or unsubscribe at once on a one-click post."""
    try:
        services.subscriber_check_unsubscribe_token(token=token)
    except services.LinkInvalid:
        return link_page(request, "invalid", status=400)
    if request.method == "POST":
        services.subscriber_unsubscribe(token=token)
        return link_page(request, "unsubscribed")
    return link_page(request, "unsubscribe")


def _serve_rendition(request: HttpRequest, renditions: Renditions | None, *, width: int, extension: str, staff: bool):
    """Stream one cleaned rendition from private storage, revalidated at each use; anything else is the plain 404."""
    item = renditions.rendition(width=width, extension=extension) if renditions else None
    if item is None or extension not in images.RENDITION_FORMATS:
        raise Http404
    etag = None if staff else quote_etag(f"{renditions.rendition_key}-{width}-{extension}")
    response = get_conditional_response(request, etag=etag) if etag else None
    if response is None:
        try:
            handle = open_stored(private_storage(), item["name"])
        except FileNotFoundError as error:
            raise Http404 from error
        except StorageUnavailable:
            return storage_unavailable(request)
        response = FileResponse(handle, content_type=images.RENDITION_FORMATS[extension][1])
    if staff:
        response["Cache-Control"] = "private, no-store"
    else:
        # Kept by browsers and proxies but asked about before each use: a photo taken down goes at the next request.
        response["Cache-Control"] = "no-cache"
        response["ETag"] = etag
    response["X-Robots-Tag"] = "noindex, noimageindex"
    return response


@require_safe
def campaign_photo(request: HttpRequest, key: str, width: int, extension: str) -> HttpResponse:
    """Serve a rendition of the photo of a campaign readers may see; staff who may change campaigns see any."""
    campaign = Campaign.objects.live().filter(photo_key=key).only("photo_key", "photo_renditions").first()
    staff = False
    if campaign is None and request.user.is_authenticated and request.user.has_perm("advocacy.change_campaign"):
        campaign = Campaign.objects.filter(photo_key=key).only("photo_key", "photo_renditions").first()
        staff = True
    return _serve_rendition(
        request, campaign.photo if campaign else None, width=width, extension=extension, staff=staff
    )


@require_safe
def press_logo(request: HttpRequest, key: str, width: int, extension: str) -> HttpResponse:
    """Serve a rendition of a press logo that is shown; staff who may view press mentions see any."""
    mention = PressMention.objects.shown().filter(logo_key=key).first()
    staff = False
    if mention is None and request.user.is_authenticated and request.user.has_perm("advocacy.view_pressmention"):
        mention = PressMention.objects.filter(logo_key=key).first()
        staff = True
    return _serve_rendition(request, mention.logo if mention else None, width=width, extension=extension, staff=staff)
