"""Replays recorded Azure Cost Management responses through the SDK's own transport (azure-core RequestsTransport
over a requests session whose adapter answers from the recording). Sleeps requested by the retry policy are recorded,
not slept."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import requests
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import RequestsTransport
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.response import HTTPResponse

FIXTURES = Path(__file__).parent / "fixtures"


class ReplayAdapter(BaseAdapter):
    """Answers each request with the next recorded response, checking it matches the recorded request."""

    def __init__(self, interactions: list[dict]):
        super().__init__()
        self.interactions = list(interactions)
        self.requests: list[requests.PreparedRequest] = []

    def send(self, request, **kwargs):
        if not self.interactions:
            raise AssertionError(f"Unexpected request {request.method} {request.url}")
        interaction = self.interactions.pop(0)
        expected = interaction["request"]
        url = urlsplit(request.url)
        assert request.method == expected["method"], (request.method, expected)
        assert url.path == expected["path"], (url.path, expected["path"])
        assert dict(parse_qsl(url.query)) == expected["query"], (url.query, expected["query"])
        self.requests.append(request)
        recorded = interaction["response"]
        response = requests.Response()
        response.status_code = recorded["status"]
        response.headers = CaseInsensitiveDict(recorded.get("headers", {}))
        content = json.dumps(recorded.get("body")).encode()
        response.raw = HTTPResponse(body=io.BytesIO(content), headers=recorded.get("headers", {}),
                                    status=recorded["status"], preload_content=False)
        response._content = content
        response.url = request.url
        response.request = request
        response.encoding = "utf-8"
        response.reason = "Too Many Requests" if recorded["status"] == 429 else "OK"
        return response

    def close(self) -> None:
        pass


class RecordingTransport(RequestsTransport):
    """The SDK's requests transport; sleeps are recorded instead of taken."""

    def __init__(self, adapter: ReplayAdapter):
        session = requests.Session()
        session.mount("https://", adapter)
        super().__init__(session=session, session_owner=False)
        self.adapter = adapter
        self.slept: list[float] = []

    def sleep(self, duration: float) -> None:
        self.slept.append(duration)


class StaticCredential:
    """A TokenCredential that always returns the same token."""

    def get_token(self, *scopes, **kwargs) -> AccessToken:
        return AccessToken("recorded-token", int(time.time()) + 3600)


def replay(name: str) -> RecordingTransport:
    recording = json.loads((FIXTURES / name).read_text())
    return RecordingTransport(ReplayAdapter(recording["interactions"]))
