"""Error reports to Sentry that carry no survivor's private data, when SENTRY_DSN is set.

Error emails already mask identity, consent, story and subscriber fields (archive.reporting). A Sentry
event would carry more: the request body and cookies, every frame's local variables, breadcrumbs of log
lines and queries. So nothing of the kind is collected (``send_default_pii`` and local variables off, no
breadcrumbs, no request bodies), and ``before_send`` removes whatever an integration added anyway:
bodies, cookies, the query string, headers other than a few harmless ones, local variables, the user,
extra data; and it masks addresses, signed links and PostgreSQL's copy of a row's values in messages.
"""

import re
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration

FILTERED = "[Filtered]"

# Headers that say nothing about who is reading.
KEPT_HEADERS = frozenset({"host", "accept", "accept-language", "content-type", "content-length"})

EMAIL = re.compile(r"[^\s@<>()\[\],;:\"']+@[^\s@<>()\[\],;:\"']+\.[A-Za-z]{2,}")
# django.core.signing's tokens (newsletter confirmation and unsubscribe links): value:timestamp:signature.
SIGNED = re.compile(r"[A-Za-z0-9_=-]{8,}(?::[A-Za-z0-9_=-]+){1,2}:[A-Za-z0-9_-]{20,}")
# PostgreSQL repeats a row's values in its errors: "DETAIL:  Key (email)=(reader@example.org) already exists."
DETAIL = re.compile(r"DETAIL:.*", re.DOTALL)


def scrub_text(text: Any) -> Any:
    """Mask addresses, signed tokens and the values PostgreSQL quotes in a message."""
    if not isinstance(text, str):
        return text
    text = DETAIL.sub(f"DETAIL: {FILTERED}", text)
    text = SIGNED.sub(FILTERED, text)
    return EMAIL.sub(FILTERED, text)


def _scrub_frames(container: dict | None) -> None:
    for frame in ((container or {}).get("stacktrace") or {}).get("frames") or []:
        frame.pop("vars", None)


def before_send(event: dict, hint: dict) -> dict:
    """Remove from an event everything that could hold a storyteller's, reader's or subscriber's data."""
    request = event.get("request")
    if isinstance(request, dict):
        for key in ("data", "cookies", "env"):
            request.pop(key, None)
        if request.get("query_string"):
            request["query_string"] = FILTERED
        if "url" in request:
            request["url"] = scrub_text(request["url"])
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {
                name: value if name.lower() in KEPT_HEADERS else FILTERED for name, value in headers.items()
            }
    for key in ("user", "extra", "breadcrumbs"):
        event.pop(key, None)
    for exception in (event.get("exception") or {}).get("values") or []:
        exception["value"] = scrub_text(exception.get("value"))
        _scrub_frames(exception)
    for thread in (event.get("threads") or {}).get("values") or []:
        _scrub_frames(thread)
    if "message" in event:
        event["message"] = scrub_text(event["message"])
    logentry = event.get("logentry")
    if isinstance(logentry, dict):
        for key in ("message", "formatted"):
            if key in logentry:
                logentry[key] = scrub_text(logentry[key])
        if isinstance(logentry.get("params"), list | tuple):
            logentry["params"] = [scrub_text(param) for param in logentry["params"]]
    return event


def init_sentry(*, dsn: str, environment: str, transport: Any = None) -> None:
    """Send errors to Sentry, and nothing a reader or storyteller typed (``transport``: Sentry's own unless given)."""
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        transport=transport,
        integrations=[DjangoIntegration()],
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        max_breadcrumbs=0,
        before_send=before_send,
        # No traces_sample_rate: errors only, no performance tracing, which would record every page's queries.
    )
