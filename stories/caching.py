"""Full-page caching of public pages, keyed by the versions of what each page shows.

Tags. While a page renders, every model instance it materialises adds its tags to the render's
tag set (a ``post_init`` receiver, active only inside ``cache_public_page``): ``"stories.part:7"``,
plus the parent it is shown with (``SHOWN_WITH``: a part's story, a story's storyteller, a photo's
part, an action's campaign). Views add what they show as a *set*, which no single object stands
for, with ``depends_on("publications")`` (the public stories and parts that lists, feeds and the
sitemap show), ``depends_on("advocacy.campaign:list")`` (which campaigns are live or featured) or
``depends_on(theme_stories(id, language))`` (a theme's live stories, which related stories come from).
(``urls.py`` declares the sets each page always shows, as ``tags``.) Rows read without a model
instance (``values()``, ``count()``) tag nothing: a view that shows them must call ``depends_on``,
and a page that tagged nothing at all is never stored. Every tag has a version in the cache; a page
is stored with the versions of its tags, and served only while all of them are unchanged.
``invalidate(*tags)`` bumps versions: saving or deleting an object does so for its own tags, so
editing one story leaves every other story's pages warm. Pages that handed out a CSRF token, set a
cookie or read the session are never stored.

The race. A miss reads the database, then the tag versions. A write that commits between the two
would leave its new versions beside a page rendered from the old rows. So every ``invalidate``
also bumps one write counter, ``archive:writes``; a miss reads the counter before rendering (in
the same round trip as the attempt to hit) and again after, with the tag versions (in one round
trip, or one atomic script on Redis), and stores nothing if it moved. A write that commits after
that second read bumps the versions the page was stored under, so the page is never served.
Versions are bumped at once and again when the transaction commits: a page rendered from the old
rows in between is stored under the first bump and never served after the second.

One round trip. On Redis a hit is one ``EVALSHA``: the entry holds its tag keys and versions in a
header line before the pickled response, and the script returns the response only if they all
still hold (otherwise the write counter, for the miss). The primary answers it, never a replica
that may not have heard of the last withdrawal yet. Other backends (LocMemCache in development
and tests) use ``get_many``. A tag with no version (never bumped, or evicted) gets one from the
clock, never a small number, so it cannot come back to a version an old page was stored under.

The key. Today's date is part of it (consent lapses at midnight with no write), and so are the
language, the method, the path and the parameters a page declares (``params``); the others are
removed from the request before the view sees it, so ``?x=<random>`` is the same page and entry.

Outages. If the cache cannot be reached, pages render uncached, never a 500. An invalidation that
cannot reach the cache is logged, kept in this process and delivered before this process next
reads or writes a page; while the cache is down nobody reads the stale page from it. Servers that
still reach it (a partition, not an outage) may serve such a page until it expires, which
``PUBLIC_PAGE_CACHE_SECONDS`` (default 300) bounds; ``0`` turns the page cache off altogether.
"""

import contextvars
import functools
import hashlib
import logging
import pickle
import re
import threading
import time
from collections.abc import Callable, Iterable
from urllib.parse import urlencode

from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache
from django.db import models, transaction
from django.db.models.signals import m2m_changed, post_delete, post_init, post_save
from django.http import HttpRequest, HttpResponse, QueryDict
from django.urls import Resolver404, resolve
from django.utils import timezone, translation
from simple_history.models import HistoricalChanges

from archive import health
from archive.middleware import RejectNulBytesMiddleware

logger = logging.getLogger(__name__)

PUBLICATIONS = "publications"
CAMPAIGN_LIST = "advocacy.campaign:list"
# The table linking stories to their themes, whose changes move stories between themes' sets.
THEME_LINKS = "stories.story_themes"
WRITES = "archive:writes"
TAG_PREFIX = "archive:tag:"
PAGE_PREFIX = "archive:page"

# What a failing cache raises: redis-py's errors, and the socket errors other clients let through.
CACHE_ERRORS = health.CACHE_ERRORS

# Apps whose rows public pages show...
CONTENT_APPS = frozenset({"stories", "translations", "advocacy"})
# ...except rows no page shows. Publication rows are derived: stories.publication invalidates for them.
NOT_SHOWN = frozenset(
    {
        "advocacy.subscriber",
        "advocacy.actioncount",
        "stories.storytelleridentity",
        "stories.consentevidence",
        "stories.protectedterm",
        "stories.storypublication",
        "stories.partpublication",
        "stories.imagepublication",
    }
)

TAG = re.compile(r"[A-Za-z0-9_.:-]{1,200}")
PARAM_VALUE = re.compile(r"[A-Za-z0-9_-]{1,100}")

# The tags of the objects a page is rendering; None outside a cached render, where nothing is recorded.
_shown: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar("archive_page_tags", default=None)


def _parent(label: str, field: str) -> Callable[[dict], list[str]]:
    """Tag the parent named by a foreign key, if the row was loaded with it."""

    def tags(values: dict) -> list[str]:
        pk = values.get(field)
        return [] if pk is None else [f"{label}:{pk}"]

    return tags


# An object is shown with its parent: a page that shows it changes when the parent does (a story
# when its storyteller's consent does), and gains it when it is added to the parent.
SHOWN_WITH: dict[str, Callable[[dict], list[str]]] = {
    "stories.part": _parent("stories.story", "story_id"),
    "stories.story": _parent("stories.storyteller", "storyteller_id"),
    "stories.storyimage": _parent("stories.part", "part_id"),
    "stories.consent": _parent("stories.storyteller", "storyteller_id"),
    "advocacy.action": _parent("advocacy.campaign", "campaign_id"),
    "advocacy.campaignstory": lambda values: [
        *_parent("advocacy.campaign", "campaign_id")(values),
        *_parent("stories.story", "story_id")(values),
    ],
}


def _is_content(model: type[models.Model]) -> bool:
    return (
        model._meta.app_label in CONTENT_APPS
        and model._meta.label_lower not in NOT_SHOWN
        and not issubclass(model, HistoricalChanges)
    )


def tags_of(instance: models.Model) -> list[str]:
    """Return the tags of an object a page shows, from the fields it was loaded with (no query)."""
    label = instance._meta.label_lower
    # __dict__, never getattr: reading a deferred field would cost a query per object.
    values = instance.__dict__
    pk = values.get(instance._meta.pk.attname)
    if pk is None or label == "translations.translation":
        return []
    tags = [f"{label}:{pk}"]
    parents = SHOWN_WITH.get(label)
    return tags + parents(values) if parents else tags


def changed_tags(instance: models.Model) -> list[str]:
    """Return the tags a saved or deleted object makes stale."""
    label = instance._meta.label_lower
    if label == "translations.translation":
        # Whose text it is, from the row alone: the content object is never loaded.
        content_type = ContentType.objects.get_for_id(instance.content_type_id)
        return [f"{content_type.app_label}.{content_type.model}:{instance.object_id}"]
    tags = tags_of(instance)
    if label == "advocacy.campaign":
        tags.append(CAMPAIGN_LIST)
    return tags


def _checked(tags: Iterable[str]) -> list[str]:
    checked = list(tags)
    for tag in checked:
        if not isinstance(tag, str) or not TAG.fullmatch(tag):
            raise ValueError(f"A page tag is letters, digits and . : _ - only, at most 200: {tag!r}")
    return checked


def depends_on(*tags: str) -> None:
    """Record that the page being rendered shows these sets; invalidating any of them makes it stale."""
    checked = _checked(tags)
    shown = _shown.get()
    if shown is not None:
        shown.update(checked)


# --- Where the versions live ----------------------------------------------------------------------

# Whether every tag version in an entry's header ("key\tversion\tkey\tversion...") still holds.
HOLDS = """
local function holds(header)
  local keys, versions = {}, {}
  local odd = true
  for field in string.gmatch(header, '[^\\t]+') do
    if odd then keys[#keys + 1] = field else versions[#versions + 1] = field end
    odd = not odd
  end
  for start = 1, #keys, 500 do
    local chunk = {}
    for i = start, math.min(start + 499, #keys) do chunk[#chunk + 1] = keys[i] end
    local current = redis.call('MGET', unpack(chunk))
    for i = 1, #chunk do
      if current[i] ~= versions[start + i - 1] then return false end
    end
  end
  return true
end
"""

# Returns {1, page, header} if every tag version in the entry's header still holds, else {0, writes}:
# the write counter the miss compares after rendering (started from ARGV[1] if absent).
FETCH = (
    HOLDS
    + """
local writes = redis.call('GET', KEYS[2])
if not writes then
  writes = ARGV[1]
  redis.call('SET', KEYS[2], writes)
end
local entry = redis.call('GET', KEYS[1])
if not entry then return {0, writes} end
local stop = string.find(entry, '\\n', 1, true)
if not stop then return {0, writes} end
local header = string.sub(entry, 1, stop - 1)
if not holds(header) then return {0, writes} end
return {1, string.sub(entry, stop + 1), header}
"""
)

# Keeps a copy of an entry's page in another form (ARGV[2]) under KEYS[1], if every version in the
# entry's header (ARGV[1]) still holds, for no longer than the entry (KEYS[2]) has left. The copy is
# stamped with the write counter (KEYS[3]) of that instant: every BUMP moves the counter in the same
# atomic step as the versions, so the copy is current exactly while the counter still reads the stamp,
# which a plain MGET of the two can tell.
STORE_COPY = (
    HOLDS
    + """
local ttl = redis.call('PTTL', KEYS[2])
if ttl <= 0 or not holds(ARGV[1]) then return 0 end
local writes = redis.call('GET', KEYS[3])
if not writes then return 0 end
redis.call('SET', KEYS[1], writes .. '\\n' .. ARGV[2], 'PX', ttl)
return 1
"""
)

# Stores the page under its tags' current versions, unless a write came since ARGV[1] was read;
# returns the header it stored the page under (tag keys and versions), or 0.
STORE = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
local header = {}
for i = 3, #KEYS do
  local version = redis.call('GET', KEYS[i])
  if not version then
    version = ARGV[2]
    redis.call('SET', KEYS[i], version)
  end
  header[#header + 1] = KEYS[i]
  header[#header + 1] = version
end
header = table.concat(header, '\\t')
redis.call('SET', KEYS[1], header .. '\\n' .. ARGV[4], 'EX', ARGV[3])
return header
"""

# Bumps every key; one that is missing starts from the clock.
BUMP = """
for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('INCR', KEYS[i])
  else
    redis.call('SET', KEYS[i], ARGV[1])
  end
end
return #KEYS
"""


class RedisPages:
    """Pages and versions in Redis, each operation one round trip to the primary."""

    _scripts: dict[str, object] = {}

    def __init__(self, backend: RedisCache) -> None:
        self.backend = backend
        self.client = backend._cache.get_client(None, write=True)
        self.writes_key = self._key(WRITES)

    def _run(self, source: str, keys: list[str], args: list) -> object:
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = self.client.register_script(source)
        return script(keys=keys, args=args, client=self.client)

    def _key(self, name: str) -> str:
        # The same key function as cache.get() and cache.incr(), so both see one value.
        return self.backend.make_and_validate_key(name)

    def fetch_entry(self, key: str) -> tuple[bytes | None, bytes | None, object]:
        """Return the entry's payload and header while every version in it holds, else (None, None, writes)."""
        found, *rest = self._run(FETCH, [self._key(key), self._key(WRITES)], [time.time_ns()])
        return (rest[0], rest[1], None) if found else (None, None, rest[0] if rest else None)

    def fetch(self, key: str) -> tuple[HttpResponse | None, object, bytes | None]:
        value, header, writes = self.fetch_entry(key)
        if value is None:
            return None, writes, None
        # An entry that cannot be read is rendered again but not stored: the counter is unknown.
        response = _load(value)
        return response, None, header if response is not None else None

    def store(self, key: str, response: HttpResponse, tags: set[str], writes: object, seconds: int) -> bytes | None:
        keys = [self._key(key), self._key(WRITES), *(self._key(TAG_PREFIX + tag) for tag in sorted(tags))]
        if any("\t" in name or "\n" in name for name in keys):
            return None  # the header could not be read back; a KEY_PREFIX with control characters gets no page cache
        page = pickle.dumps(response, pickle.HIGHEST_PROTOCOL)
        return self._run(STORE, keys, [writes, time.time_ns(), seconds, page]) or None

    def store_copy(self, key: str, entry_key: str, header: bytes, payload: bytes) -> bool:
        """Keep another form of an entry's page under ``key``, while the entry's versions hold.

        It is served (``fetch_copy``) only until the next write of anything: a copy costs a plain read to
        serve, and a write sends the next request for it to the entry, which keeps it again.
        """
        keys = [self._key(key), self._key(entry_key), self._key(WRITES)]
        return bool(self._run(STORE_COPY, keys, [header, payload]))

    def fetch_copy(self, key: str) -> bytes | None:
        """Return the copy kept under ``key`` if no write came since it was kept, in one plain ``MGET``.

        The write counter moves in the same atomic step as every version (``BUMP``). It is never set
        back to a value it had: when missing (evicted) it starts again from the clock, so a missing or
        moved counter makes every copy stale.
        """
        # make_key(), not _key(): the front's keys are short hex, which needs no memcached warnings.
        writes, copy = self.client.mget([self.writes_key, self.backend.make_key(key)])
        if writes is None or copy is None:
            return None
        stamp, separator, payload = copy.partition(b"\n")
        return payload if separator and stamp == writes else None

    def bump(self, tags: set[str]) -> None:
        self._run(BUMP, [*(self._key(TAG_PREFIX + tag) for tag in sorted(tags)), self._key(WRITES)], [time.time_ns()])


class OtherPages:
    """Pages and versions in any other backend (process memory in development and tests)."""

    def __init__(self, backend: BaseCache) -> None:
        self.backend = backend

    def _writes(self) -> object:
        writes = self.backend.get(WRITES)
        if writes is None:
            self.backend.add(WRITES, time.time_ns(), None)
            writes = self.backend.get(WRITES)
        return writes

    def fetch(self, key: str) -> tuple[HttpResponse | None, object, None]:
        found = self.backend.get_many([key, WRITES])
        writes = found[WRITES] if WRITES in found else self._writes()
        if key in found:
            versions, response = found[key]
            if self.backend.get_many(list(versions)) == versions:
                return response, None, None
        return None, writes, None

    def store(self, key: str, response: HttpResponse, tags: set[str], writes: object, seconds: int) -> None:
        names = [TAG_PREFIX + tag for tag in tags]
        current = self.backend.get_many([*names, WRITES])
        missing = [name for name in names if name not in current]
        if missing:
            seed = time.time_ns()
            for name in missing:
                self.backend.add(name, seed, None)
            # Read the counter again with them: a write may have set one of them meanwhile.
            current.update(self.backend.get_many([*missing, WRITES]))
        if current.get(WRITES) != writes or any(name not in current for name in names):
            return
        self.backend.set(key, ({name: current[name] for name in names}, response), seconds)

    def bump(self, tags: set[str]) -> None:
        for name in [*(TAG_PREFIX + tag for tag in tags), WRITES]:
            try:
                self.backend.incr(name)
            except ValueError:
                if not self.backend.add(name, time.time_ns(), None):
                    self.backend.incr(name)


def pages() -> RedisPages | OtherPages:
    backend = caches["default"]
    # Kept on the backend (one per thread): a redis-py client is cheap to share and costly to build
    # (it copies its table of response callbacks), and a cache hit should cost the round trip alone.
    store = getattr(backend, "_archive_pages", None)
    if store is None:
        store = RedisPages(backend) if isinstance(backend, RedisCache) else OtherPages(backend)
        backend._archive_pages = store
    return store


def _load(page: bytes) -> HttpResponse | None:
    try:
        # Our own cache's bytes, written by store() above, as Django's RedisCache would.
        return pickle.loads(page)  # noqa: S301
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError, TypeError, ValueError):
        logger.warning("Could not read a cached page; rendering it again.", exc_info=True)
        return None


# --- Invalidation ---------------------------------------------------------------------------------

# Invalidations the cache did not receive, delivered before this process next uses a cached page.
_undelivered: set[str] = set()
_undelivered_lock = threading.Lock()


def _bump(tags: Iterable[str]) -> None:
    with _undelivered_lock:
        tags = set(tags) | _undelivered
        _undelivered.clear()
    try:
        pages().bump(tags)
    except CACHE_ERRORS:
        with _undelivered_lock:
            _undelivered.update(tags)
        logger.error(
            "The page cache did not receive %d invalidations; this process retries them, and cached "
            "pages expire within PUBLIC_PAGE_CACHE_SECONDS.",
            len(tags),
            exc_info=True,
        )


def has_undelivered() -> bool:
    """Whether this process holds invalidations the cache has not received yet."""
    return bool(_undelivered)


def _deliver_undelivered(store: RedisPages | OtherPages) -> None:
    """Deliver invalidations the cache missed, before reading a page from it; raise if it still cannot."""
    if not _undelivered:
        return
    with _undelivered_lock:
        tags = set(_undelivered)
    store.bump(tags)
    with _undelivered_lock:
        _undelivered.difference_update(tags)


# What kept_until_next_write last read or computed in this process, by name: the write counter it was
# kept under, and the shared entry itself (the moment it expires, the value). Only a copy: served while the
# shared counter, read on every call, still holds the same value, so a write on any server makes every
# server's copy stale.
_kept: dict[str, tuple[object, tuple[float, object]]] = {}


def kept_until_next_write(name: str, compute: Callable[[], object], *, seconds: int) -> object:
    """Return ``compute()``, kept in the shared cache under ``name`` until the next write to content.

    Every save or deletion that invalidates pages moves the write counter, and the value is kept under
    the counter's value read *before* computing, so a write that commits meanwhile moves the counter
    past it. ``seconds`` bounds how long a value can outlive an invalidation the cache never received;
    those this process still holds are delivered first. An unreachable cache means computing every time.

    The value is stored with the moment it expires, and this process keeps a copy of the last one it
    read: while the counter has not moved and that moment has not come, a call reads only the counter,
    not the value again (the translation workspace's overview grows with the archive). That copy is the
    same object for every call in the process: a caller reads it and never changes it (the overview's
    lists are tuples, the press strip's rows are only drawn).
    """
    try:
        store = pages()
        _deliver_undelivered(store)
        backend = caches["default"]
        writes = backend.get(WRITES)
        if writes is None:
            backend.add(WRITES, time.time_ns(), None)
            writes = backend.get(WRITES)
        key = f"{name}:kept:{writes}"
        kept = _kept.get(name)
        if kept is not None and writes is not None and kept[0] == writes and time.time() < kept[1][0]:
            found = kept[1]
        else:
            found = backend.get(key)
    except CACHE_ERRORS as error:
        # Logged once per outage in this process (archive.health).
        health.CACHE.failed(error)
        return compute()
    health.CACHE.recovered()
    if found is None:
        found = (time.time() + seconds, compute())
        try:
            backend.set(key, found, seconds)
        except CACHE_ERRORS as error:
            health.CACHE.failed(error)
            return found[1]
    _kept[name] = (writes, found)
    return found[1]


def invalidate(*tags: str) -> None:
    """Make every cached page that shows any of these tags stale, now and again when the transaction commits."""
    checked = _checked(tags)
    if not checked:
        return
    _bump(checked)
    transaction.on_commit(functools.partial(_bump, checked), robust=True)


def _object_changed(sender, instance, **kwargs) -> None:
    invalidate(*changed_tags(instance))


def theme_stories(theme_id: int, language: str) -> str:
    """The tag of a theme's live stories in a language: the set related stories are chosen from (stories.related)."""
    return f"stories.theme:{theme_id}:stories:{language}"


def _relation_changed(sender, instance, action, model, pk_set, **kwargs) -> None:
    of_a_story = sender._meta.label_lower == THEME_LINKS and instance._meta.label_lower == "stories.story"
    if action == "pre_clear" and of_a_story:
        # Which themes clear() takes from a story is known only before it does.
        instance._archive_cleared_themes = set(
            sender.objects.filter(story_id=instance.pk).values_list("theme_id", flat=True)
        )
        return
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    tags = changed_tags(instance) if _is_content(type(instance)) else []
    if pk_set and _is_content(model):
        tags += [f"{model._meta.label_lower}:{pk}" for pk in sorted(pk_set)]
    if "stories.story" in {instance._meta.label_lower, model._meta.label_lower}:
        # A story's themes decide which themes the index offers: a set no object on it stands for.
        tags.append(PUBLICATIONS)
    if sender._meta.label_lower == THEME_LINKS:
        # A story joins or leaves the sets of these themes, and so the related stories of their pages.
        if not of_a_story:
            themes = {instance.pk}
        elif action == "post_clear":
            themes = instance.__dict__.pop("_archive_cleared_themes", set())
        else:
            themes = pk_set or set()
        tags += [theme_stories(pk, code) for pk in sorted(themes) for code, _name in settings.LANGUAGES]
    invalidate(*tags)


def _materialised(sender, instance, **kwargs) -> None:
    shown = _shown.get()
    if shown is not None:
        shown.update(tags_of(instance))


def connect_signals() -> None:
    for model in apps.get_models():
        if not _is_content(model):
            continue
        label = model._meta.label_lower
        post_save.connect(_object_changed, sender=model, dispatch_uid=f"archive-page-saved-{label}")
        post_delete.connect(_object_changed, sender=model, dispatch_uid=f"archive-page-deleted-{label}")
        if label != "translations.translation":  # it never reaches a page
            post_init.connect(_materialised, sender=model, dispatch_uid=f"archive-page-shown-{label}")
    m2m_changed.connect(_relation_changed, dispatch_uid="archive-page-relation")


# --- The view wrapper -----------------------------------------------------------------------------


def declared_query(request: HttpRequest, params: Iterable[str]) -> str | None:
    """Return the declared parameters as a canonical query string, or None if a value is not one a page uses."""
    pairs = []
    for name in sorted(params):
        value = request.GET.get(name)  # the last one, as views read it
        if not value:
            continue
        if not PARAM_VALUE.fullmatch(value):
            return None
        pairs.append((name, value))
    return urlencode(pairs)


def page_key(request: HttpRequest, query: str = "") -> str:
    """Return the cache key of a public page, before the cache's own prefix and version."""
    where = request.path + (f"?{query}" if query else "")
    return ":".join(
        [
            PAGE_PREFIX,
            timezone.localdate().isoformat(),
            translation.get_language() or "",
            request.method,
            hashlib.sha256(where.encode()).hexdigest(),
        ]
    )


def _render(view, request: HttpRequest, args, kwargs, tags: list[str]) -> tuple[HttpResponse, set[str]]:
    """Render the page, recording the tags of everything it shows."""
    outer = _shown.get()
    shown = set(tags)
    token = _shown.set(shown)
    try:
        response = view(request, *args, **kwargs)
        if hasattr(response, "render") and callable(response.render):
            response = response.render()
    finally:
        _shown.reset(token)
    if outer is not None:
        outer.update(shown)
    return response, shown


def shareable(request: HttpRequest, response: HttpResponse) -> bool:
    """Say whether every reader may get this response."""
    if response.status_code != 200 or response.streaming:
        return False
    # A page that handed out a CSRF token, set a cookie or read the session is personal; never share it.
    if request.META.get("CSRF_COOKIE_NEEDS_UPDATE") or response.cookies:
        return False
    session = getattr(request, "session", None)
    if session is not None and session.accessed:
        return False
    directives = {part.split("=")[0].strip().lower() for part in response.get("Cache-Control", "").split(",")}
    return not directives & {"private", "no-store"}


def cache_public_page(view=None, *, params: Iterable[str] = (), tags: Iterable[str] = ()):
    """Cache a public page's shared responses until something it shows changes.

    ``params`` are the query parameters the page reads; every other one is removed before the view
    runs and is no part of the key. ``tags`` are sets the page always shows, as ``depends_on`` would add.
    """
    if view is None:
        return functools.partial(cache_public_page, params=params, tags=tags)
    params = tuple(params)
    declared_tags = _checked(tags)

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if getattr(request, "page_cache", None) is not None:
            # PublicPageCacheMiddleware serves and stores this page, headers and all: just render it.
            return view(request, *args, **kwargs)
        if settings.PUBLIC_PAGE_CACHE_SECONDS <= 0 or request.method not in {"GET", "HEAD"}:
            return view(request, *args, **kwargs)
        return serve(
            request,
            params,
            declared_tags,
            lambda tags, cacheable: _render(view, request, args, kwargs, tags),
        )

    wrapper.public_page = (params, declared_tags)
    return wrapper


class PublicPageCacheMiddleware:
    """Serve cached public pages before the rest of the middleware runs, and store them after it has.

    A hit then costs the cache's one round trip and this, not sessions, CSRF, authentication and the
    rest; a stored page carries every header the inner middleware added (the Content-Security-Policy
    above all). Place it after ConditionalGetMiddleware, so a hit still answers a matching ETag with a
    304, and before everything else that adds headers. Pages are those wrapped in ``cache_public_page``;
    everything else passes straight through.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.PUBLIC_PAGE_CACHE_SECONDS <= 0 or request.method not in {"GET", "HEAD"}:
            return self.get_response(request)
        language = translation.get_language_from_path(request.path_info)
        # A NUL byte anywhere is left for RejectNulBytesMiddleware to answer with the plain 404.
        if not language or RejectNulBytesMiddleware.has_nul(request):
            return self.get_response(request)
        with translation.override(language):
            try:
                match = resolve(request.path_info)
            except Resolver404:
                return self.get_response(request)
        page = getattr(match.func, "public_page", None)
        if page is None:
            return self.get_response(request)
        params, tags = page
        return serve(request, params, tags, functools.partial(self._render, request), language=language)

    def _render(self, request: HttpRequest, tags: list[str], cacheable: bool) -> tuple[HttpResponse, set[str]]:
        # Tells the view's own wrapper that this middleware serves and stores the page.
        request.page_cache = "miss" if cacheable else "unreachable"
        shown = set(tags)
        token = _shown.set(shown)
        try:
            return self.get_response(request), shown
        finally:
            _shown.reset(token)


def serve(
    request: HttpRequest,
    params: Iterable[str],
    tags: list[str],
    render: Callable[[list[str], bool], tuple[HttpResponse, set[str]]],
    *,
    language: str | None = None,
) -> HttpResponse:
    """Answer a public page from the cache, or render it and keep it when every reader may share it.

    ``render(tags, cacheable)`` renders the page recording what it shows; ``cacheable`` is False
    when the cache cannot be reached.
    """
    query = declared_query(request, params)
    if query is None:
        # A declared parameter with a value no page uses: answered (most likely a 404), never kept.
        return render(tags, False)[0]
    # The view sees exactly what the key holds, so a hit and a miss answer alike.
    request.GET = QueryDict(query)
    request.META["QUERY_STRING"] = query
    with translation.override(language or translation.get_language()):
        key = page_key(request, query)
    try:
        store = pages()
        _deliver_undelivered(store)
        cached, writes, header = store.fetch(key)
    except CACHE_ERRORS as error:
        # Logged once per outage in this process, not once per page (archive.health).
        health.CACHE.failed(error)
        return render(tags, False)[0]
    health.CACHE.recovered()
    if cached is not None:
        _answered_from(request, key, header)
        return cached
    response, shown = render(tags, True)
    # A page that showed no object has nothing to be invalidated by: it read rows some other way.
    if shown and writes is not None and shareable(request, response):
        try:
            header = store.store(key, response, shown, writes, settings.PUBLIC_PAGE_CACHE_SECONDS)
        except CACHE_ERRORS as error:
            health.CACHE.failed(error)
        else:
            _answered_from(request, key, header)
    return response


# The WSGI environ key under which serve() leaves the cache entry a page was answered from or stored
# as, with the versions it holds, for the front of the cache (stories.front) to keep its final bytes.
ANSWERED_FROM = "archive.page_cache.entry"


def _answered_from(request: HttpRequest, key: str, header: bytes | None) -> None:
    if header is not None:
        request.META[ANSWERED_FROM] = (key, header)
