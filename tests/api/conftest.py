"""A client for the read API that validates every answer against the OpenAPI document the API serves.

Each answer a test gets is checked against its operation's schema for that status with
openapi-schema-validator, after the document itself is checked with openapi-spec-validator (both pinned
already, by moto). That validates every response the tests see, the withdrawals and errors included, and
costs milliseconds; schemathesis would add its own stack (hypothesis strategies, an HTTP client, a CLI)
and minutes of generated requests on a two-core machine to check the same documents against the same
schemas: bad input is covered by the explicit cases in test_api.py instead.
"""

import json
import re
from collections import deque

import pytest
from django.conf import settings
from django.test import Client
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec

API = "/api/v1/"
LANGUAGES = [code for code, _name in settings.LANGUAGES]
LISTS = ("stories", "parts", "themes", "campaigns")


def local(url: str) -> str:
    """The path of an absolute URL the API gave, for the test client."""
    site = settings.SITE_URL.rstrip("/")
    assert url.startswith(site + "/"), url
    return url.removeprefix(site)


class ApiClient:
    """GETs from the API; every JSON answer must match its operation's schema for that status."""

    def __init__(self) -> None:
        self.client = Client()
        schema = self.client.get(f"{API}schema/")
        assert schema.status_code == 200
        self.spec = schema.json()
        validate_spec(self.spec)
        self.operations = []
        for template, item in self.spec["paths"].items():
            pattern = "/".join("[^/]+" if part.startswith("{") else re.escape(part) for part in template.split("/"))
            self.operations.append((re.compile(pattern + "$"), item))
        self.validated = 0

    def schema_for(self, path: str, method: str, status: int) -> dict:
        for pattern, item in self.operations:
            if pattern.match(path) and method.lower() in item:
                responses = item[method.lower()]["responses"]
                assert str(status) in responses, f"{path} answered {status}, which the document does not declare"
                return responses[str(status)]["content"]["application/json"]["schema"]
        # Answers outside every operation (an unknown address, a method not allowed) are Errors too.
        return {"$ref": "#/components/schemas/Error"}

    def validate(self, path: str, method: str, response) -> None:
        if response.status_code == 304 or method == "HEAD":
            assert response.content == b""
            return
        assert response["Content-Type"].startswith("application/json"), (path, response.status_code)
        schema = self.schema_for(path, method, response.status_code)
        validator = OAS31Validator({**schema, "components": self.spec["components"]})
        validator.validate(json.loads(response.content))
        self.validated += 1

    def get(self, url: str, **headers):
        path = url.split("?", 1)[0]
        response = self.client.get(url, headers=headers)
        self.validate(path, "GET", response)
        return response

    def head(self, url: str, **headers):
        response = self.client.head(url, headers=headers)
        self.validate(url.split("?", 1)[0], "HEAD", response)
        return response

    def crawl(self, *, page_size: int = 2) -> dict[str, bytes]:
        """Walk the whole API in every language, following every cursor and link; return each URL's body."""
        queue = deque(f"{API}{code}/{name}/?limit={page_size}" for code in LANGUAGES for name in LISTS)
        bodies: dict[str, bytes] = {}
        while queue:
            url = queue.popleft()
            if url in bodies:
                continue
            response = self.get(url)
            assert response.status_code == 200, (url, response.content)
            bodies[url] = response.content
            for link in links(response.json()):
                if local(link).startswith(API):
                    queue.append(local(link))
        return bodies


def links(data) -> list[str]:
    """Every absolute URL of this site in an answer."""
    site = settings.SITE_URL.rstrip("/") + "/"
    found = []
    if isinstance(data, dict):
        for value in data.values():
            found += links(value)
    elif isinstance(data, list):
        for value in data:
            found += links(value)
    elif isinstance(data, str) and data.startswith(site):
        found.append(data)
    return found


def listed(api: ApiClient, language: str, name: str, *, page_size: int = 2) -> list[dict]:
    """Every item of a list, following its cursors."""
    items, url = [], f"{API}{language}/{name}/?limit={page_size}"
    while url:
        response = api.get(url)
        assert response.status_code == 200, response.content
        data = response.json()
        assert data["language"] == language
        items += data["items"]
        url = local(data["next"]) if data["next"] else None
    return items


@pytest.fixture
def api(db) -> ApiClient:
    return ApiClient()
