"""A small GitHub REST client on urllib: authentication, pagination, retries and clear errors.

Only what the workflows need (issue comments and issues). No third-party dependency: the
workflows install nothing beyond the reconciler itself.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
# GitHub rejects comment and issue bodies longer than this many characters.
MAX_BODY_CHARS = 65_536
_LINK_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


class GitHubError(Exception):
    """A failed GitHub API call, with what to do about it."""

    def __init__(self, message: str, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.hint = hint


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: Any


def _hint_for(status: int, message: str) -> str | None:
    if status == 401:
        return "GITHUB_TOKEN is missing, expired or invalid."
    if status == 403 and "not accessible by integration" in message.lower():
        return (
            "the token lacks a permission: give the job `pull-requests: write` / `issues: write`. "
            "Pull requests from forks only get a read-only token; their comment is posted by the "
            "plan-comment workflow instead."
        )
    if status == 403:
        return "the token is not allowed to do this (check the job's `permissions:` block)."
    if status == 404:
        return "check GITHUB_REPOSITORY and the pull request / issue number (a token without access also gets 404)."
    if status == 410:
        return "issues are disabled in this repository's settings."
    if status == 422:
        return "GitHub refused the request's content (see the message above)."
    return None


@dataclass
class GitHubClient:
    token: str
    repository: str  # "owner/name"
    api_url: str = DEFAULT_API_URL
    max_attempts: int = 5
    timeout: float = 30.0
    max_wait: float = 300.0  # never sit out a rate-limit window longer than this in CI
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> GitHubClient:
        env = os.environ if environ is None else environ
        token = env.get("GITHUB_TOKEN", "").strip()
        repository = env.get("GITHUB_REPOSITORY", "").strip()
        missing = [name for name, value in (("GITHUB_TOKEN", token), ("GITHUB_REPOSITORY", repository)) if not value]
        if missing:
            raise GitHubError(
                f"{' and '.join(missing)} not set",
                hint="inside GitHub Actions pass `GITHUB_TOKEN: ${{ github.token }}` in the step's env; "
                "GITHUB_REPOSITORY is set by the runner (owner/name).",
            )
        if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repository):
            raise GitHubError(f"GITHUB_REPOSITORY must be owner/name, got {repository!r}")
        api_url = env.get("GITHUB_API_URL", "").strip() or DEFAULT_API_URL
        return cls(token=token, repository=repository, api_url=api_url.rstrip("/"))

    # -- low level ---------------------------------------------------------------------------

    def repo_path(self, suffix: str) -> str:
        return f"/repos/{self.repository}{suffix}"

    def request(self, method: str, path_or_url: str, body: Any = None, params: dict[str, Any] | None = None) -> Response:
        url = path_or_url if path_or_url.startswith(("http://", "https://")) else self.api_url + path_or_url
        if params:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(sorted(params.items()))
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {self.token}",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "sms-policy-reconciler",
        }
        if data is not None:
            headers["Content-Type"] = "application/json"
        for attempt in range(1, self.max_attempts + 1):
            request = urllib.request.Request(url, data=data, method=method, headers=headers)
            try:
                with _OPENER.open(request, timeout=self.timeout) as raw:
                    payload = raw.read()
                    return Response(raw.status, {k.lower(): v for k, v in raw.headers.items()}, _decode(payload))
            except urllib.error.HTTPError as error:
                payload = error.read()
                response_headers = {k.lower(): v for k, v in (error.headers or {}).items()}
                message = _message(_decode(payload)) or error.reason or "no message"
                delay = self._retry_delay(error.code, response_headers, message, attempt)
                if delay is not None and delay > self.max_wait:
                    raise GitHubError(
                        f"GitHub API {method} {_redact(url)} failed: HTTP {error.code}: {message}",
                        status=error.code,
                        hint=f"rate limited for another {delay:.0f}s (more than {self.max_wait:.0f}s): retry later",
                    ) from None
                if delay is None:
                    raise GitHubError(
                        f"GitHub API {method} {_redact(url)} failed: HTTP {error.code}: {message}",
                        status=error.code,
                        hint=_hint_for(error.code, message),
                    ) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
                reason = getattr(error, "reason", error)
                if attempt == self.max_attempts:
                    raise GitHubError(
                        f"GitHub API {method} {_redact(url)} failed: cannot connect: {reason}",
                        hint="check GITHUB_API_URL and the runner's network.",
                    ) from None
                delay = self._backoff(attempt)
            self.sleep(delay)
        raise AssertionError("unreachable")  # the loop always returns or raises

    def _backoff(self, attempt: int) -> float:
        return float(min(60.0, 2.0 ** (attempt - 1)) * (0.5 + self.rng.random() / 2))

    def _retry_delay(self, status: int, headers: dict[str, str], message: str, attempt: int) -> float | None:
        """Seconds to wait before retrying, or None when the error is final."""
        if attempt >= self.max_attempts:
            return None
        rate_limited = status == 429 or (
            status == 403
            and (headers.get("x-ratelimit-remaining") == "0" or "rate limit" in message.lower() or "retry-after" in headers)
        )
        if rate_limited:
            # GitHub's documented order: Retry-After, then x-ratelimit-reset, else at least a minute.
            if "retry-after" in headers and headers["retry-after"].isdigit():
                return float(headers["retry-after"])
            reset = headers.get("x-ratelimit-reset", "")
            if reset.isdigit():
                return float(max(1, int(reset) - int(time.time())))
            return 60.0
        if status >= 500:
            return self._backoff(attempt)
        return None

    # -- helpers -----------------------------------------------------------------------------

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params).body

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, body=body).body

    def patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, body=body).body

    def paginate(self, path: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
        """Every item of a list endpoint, following the Link header's rel="next"."""
        response = self.request("GET", path, params={"per_page": 100, **(params or {})})
        while True:
            if not isinstance(response.body, list):
                raise GitHubError(f"GitHub API GET {path}: expected a list, got {type(response.body).__name__}")
            yield from response.body
            match = _LINK_NEXT.search(response.headers.get("link", ""))
            if not match:
                return
            following = match.group(1)
            # The token goes with every request: follow pagination only within the API itself.
            if urllib.parse.urlsplit(following)[:2] != urllib.parse.urlsplit(self.api_url)[:2]:
                raise GitHubError(
                    f"GitHub API GET {path}: the next page is on another host ({_redact(following)}); not followed",
                    hint="check GITHUB_API_URL: it must be the API's own address.",
                )
            response = self.request("GET", following)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    return (parts.scheme.lower(), (parts.hostname or "").lower(), parts.port)


class _TokenStaysHome(urllib.request.HTTPRedirectHandler):
    """Follows redirects, but never carries the token to another origin (scheme, host, port).

    urllib copies every header of the request to the redirected one, ``Authorization`` included:
    an API answering 302 to another host would hand it the token. Like curl without
    ``--location-trusted``, the token goes only where the request was first sent.
    """

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and _origin(newurl) != _origin(req.full_url):
            for name in ("Authorization", "Cookie"):
                new.remove_header(name)  # both the redirected and the unredirected headers
        return new


_OPENER = urllib.request.build_opener(_TokenStaysHome())


def _decode(payload: bytes) -> Any:
    if not payload:
        return None
    try:
        return json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return payload.decode("utf-8", "replace")[:500]


def _message(body: Any) -> str:
    if isinstance(body, dict):
        message = str(body.get("message", ""))
        details = [
            str(e.get("message") or e.get("code") or e) if isinstance(e, dict) else str(e) for e in body.get("errors", []) or []
        ]
        return "; ".join([message, *details]) if details else message
    return str(body or "")


def _redact(url: str) -> str:
    """The URL without its query string (never carries credentials, but keeps messages short)."""
    return url.split("?", 1)[0]
