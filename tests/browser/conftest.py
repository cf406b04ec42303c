"""Drive Debian's Chromium against pytest-django's live server, with the demo content loaded.

While Playwright's sync API is started it leaves an asyncio loop marked as running in the main thread. Django
then refuses database access from that thread, and its connection handler hands out a fresh connection that
has lost the test database's serialized contents. pytest-playwright starts Playwright once per session, which
would leave every later test in that state. Here Playwright and the browser are started per test instead, after
the demo content is loaded and stopped before the database is flushed, and DJANGO_ALLOW_ASYNC_UNSAFE is set
only for these tests, for database work a test may still do while a page is open.
"""

import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.db import connections
from playwright.sync_api import Browser, BrowserType, ConsoleMessage, Page, Playwright, Request, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    # Without these Chromium keeps trying to reach Google's servers, which the closed network refuses.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="package", autouse=True)
def _chromium_available() -> None:
    """Skip without Chromium, unless CI asked for the browser tests to be required."""
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: install Debian's chromium and fonts-noto-cjk to run the browser tests"
    if os.environ.get("ARCHIVE_REQUIRE_BROWSER"):
        pytest.fail(f"ARCHIVE_REQUIRE_BROWSER is set but {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _allow_async_unsafe(monkeypatch) -> None:
    """Let a browser test touch the database while Playwright's event loop is running."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(live_server) -> dict:
    # No viewport here: tests pass their own, and new_context() refuses a keyword given twice.
    return {"base_url": live_server.url, "locale": "en-GB"}


# pytest-playwright's own versions of the next four fixtures, narrowed from session to function scope.


@pytest.fixture
def playwright(demo: str, _pw_api_request_contexts) -> Iterator[Playwright]:
    # Depending on demo fills the database before the loop starts and flushes it after the loop stops; a
    # connection opened while the loop runs would be a second one that nothing closes.
    pw = sync_playwright().start()
    if _pw_api_request_contexts:
        _pw_api_request_contexts.instrument(pw)
    yield pw
    # Close, while the loop still runs, any connection the test opened from this context: once the
    # loop stops it is out of reach, and PostgreSQL then refuses to drop the test database.
    connections.close_all()
    pw.stop()


@pytest.fixture
def browser_type(playwright: Playwright, browser_name: str) -> BrowserType:
    return getattr(playwright, browser_name)


@pytest.fixture
def launch_browser(browser_type_launch_args: dict, browser_type: BrowserType) -> Callable[..., Browser]:
    def launch(**kwargs) -> Browser:
        return browser_type.launch(**{**browser_type_launch_args, **kwargs})

    return launch


@pytest.fixture
def browser(launch_browser: Callable[..., Browser]) -> Iterator[Browser]:
    browser = launch_browser()
    yield browser
    browser.close()


@pytest.fixture
def demo(transactional_db, django_db_serialized_rollback, live_server, tmp_path, monkeypatch, settings) -> str:
    """Load the demo stories into the database the live server reads; return the server's URL.

    Serialized rollback puts back what the migrations created (the staff groups) after each flush.
    The live server is the configured site here: links the pages build (canonical, share) lead to it.
    """
    settings.SITE_URL = live_server.url
    monkeypatch.setenv("DEMO_CREDENTIALS_FILE", str(tmp_path / "demo-credentials.json"))
    call_command("load_demo", "--allow-without-debug", stdout=io.StringIO())
    return live_server.url


class PageWatch:
    """What a page asked the network for and complained about on its console."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url.rstrip("/")
        self.server_netloc = urlsplit(server_url).netloc
        self.request_urls: list[str] = []
        self.console_errors: list[str] = []
        # Chromium asks for /favicon.ico by itself and logs the 404; the site has no icon yet.
        self.expected_not_found = {f"{self.server_url}/favicon.ico"}

    def expect_not_found(self, path: str) -> None:
        """Accept the console's report of a 404 for this path, which the test asked for."""
        self.expected_not_found.add(f"{self.server_url}{path}")

    def on_request(self, request: Request) -> None:
        self.request_urls.append(request.url)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = message.location.get("url")
        if url in self.expected_not_found and "status of 404" in message.text:
            return
        self.console_errors.append(f"{message.text} ({url})")

    def on_page_error(self, error: Exception) -> None:
        self.console_errors.append(f"uncaught: {error}")

    def foreign_requests(self) -> list[str]:
        return [url for url in self.request_urls if urlsplit(url).netloc != self.server_netloc]

    def assert_clean(self) -> None:
        assert self.request_urls, "no requests were recorded"
        assert self.foreign_requests() == [], "the browser asked a host other than the site"
        assert self.console_errors == [], "the console reported errors (a CSP violation is one)"


def watch(page: Page, server_url: str) -> PageWatch:
    """Start recording a page's requests and console errors."""
    recorder = PageWatch(server_url)
    page.on("request", recorder.on_request)
    page.on("console", recorder.on_console)
    page.on("pageerror", recorder.on_page_error)
    return recorder


@pytest.fixture
def desktop_page(page: Page, demo: str) -> Page:
    """A desktop-sized page on the demo site."""
    page.set_viewport_size(DESKTOP)
    return page


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot under screenshots/ (git-ignored) and return its path."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path, full_page=True, animations="disabled")
    return path
