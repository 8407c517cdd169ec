"""A local HTTP server that behaves like the GitHub REST API for the calls the reconciler makes.

Listens on 127.0.0.1 on an ephemeral port, one thread per request. Mirrors GitHub's behaviour
that matters here: Bearer authentication (401 "Bad credentials"), read-only tokens of fork pull
requests (403 "Resource not accessible by integration"), Link-header pagination with
``per_page``/``page``, pull requests listed by the issues endpoint, the 65,536-character body
limit (422), and injectable failures (5xx, secondary rate limits) for the retry paths.

For guardrail approvals: commit statuses (``POST /repos/{o}/{r}/statuses/{sha}``: state one of
error, failure, pending, success, else 422; ``GET /repos/{o}/{r}/commits/{ref}/statuses``, newest
first), pull-request reviews (``GET /repos/{o}/{r}/pulls/{n}/reviews``: ``state`` APPROVED,
CHANGES_REQUESTED, COMMENTED or DISMISSED, ``commit_id`` the head reviewed), pushes that move a
pull request's head (and, like the branch rule "dismiss stale approvals", dismiss approvals),
team membership (``GET /orgs/{org}/teams/{slug}/memberships/{user}``: 200 ``{"state": "active"|
"pending", "role"}``, 404 when not a member), and the pull requests of a commit
(``GET /repos/{o}/{r}/commits/{sha}/pulls``: those merged as it or whose head it is).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

MAX_BODY = 65_536


@dataclass
class Fault:
    method: str
    path_pattern: str
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1


@dataclass
class GitHubState:
    repository: str = "acme/messaging-policy"
    token: str = "ghs_test_token"
    read_only: bool = False  # a fork pull request's token
    next_id: int = 1000
    next_number: int = 1
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> comment
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)  # number -> issue or PR
    branches: dict[str, str] = field(default_factory=dict)  # branch -> head commit SHA
    statuses: list[dict[str, Any]] = field(default_factory=list)  # commit statuses, oldest first
    reviews: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # PR -> reviews, oldest first
    teams: dict[str, dict[str, str]] = field(default_factory=dict)  # "org/slug" -> login -> "active" | "pending"
    dismiss_stale_reviews: bool = False  # the branch rule: a push dismisses earlier approvals
    faults: list[Fault] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path with query)
    authorizations: list[str | None] = field(default_factory=list)  # the Authorization header of each request
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_pull(self, head_sha: str = "a" * 40) -> int:
        number = self.next_number
        self.next_number += 1
        self.issues[number] = {
            "number": number,
            "title": f"PR {number}",
            "body": "",
            "state": "open",
            "labels": [],
            "pull_request": {"url": "..."},
            "head_sha": head_sha,
        }
        return number

    def push(self, pr: int, head_sha: str) -> None:
        """New commits on the pull request's branch."""
        self.issues[pr]["head_sha"] = head_sha
        if self.dismiss_stale_reviews:
            for review in self.reviews.get(pr, []):
                if review["state"] == "APPROVED":
                    review["state"] = "DISMISSED"

    def review(self, pr: int, login: str, state: str = "APPROVED", commit_id: str | None = None) -> int:
        """A submitted review, of the pull request's current head unless ``commit_id`` says otherwise."""
        rid = self.next_id
        self.next_id += 1
        self.reviews.setdefault(pr, []).append({
            "id": rid, "user": {"login": login}, "state": state, "body": "",
            "commit_id": commit_id or self.issues[pr]["head_sha"], "submitted_at": "2026-12-05T12:00:00Z",
        })
        return rid

    def merge(self, pr: int, merge_sha: str, base: str = "main") -> None:
        self.issues[pr].update(state="closed", merged_at="2026-12-05T13:00:00Z", merge_commit_sha=merge_sha, base=base)
        self.branches[base] = merge_sha

    def add_team_member(self, team: str, login: str, state: str = "active") -> None:
        self.teams.setdefault(team, {})[login] = state

    def statuses_of(self, sha: str) -> dict[str, dict[str, Any]]:
        """The latest status per context of commit ``sha`` (what GitHub shows on the pull request)."""
        latest: dict[str, dict[str, Any]] = {}
        for status in self.statuses:
            if status["sha"] == sha:
                latest[status["context"]] = status
        return latest

    def add_comment(self, issue: int, body: str, login: str = "someone") -> int:
        cid = self.next_id
        self.next_id += 1
        self.comments[cid] = {
            "id": cid,
            "issue": issue,
            "body": body,
            "user": {"login": login},
            "html_url": f"https://github.example/{self.repository}/pull/{issue}#issuecomment-{cid}",
        }
        return cid

    def comments_on(self, issue: int) -> list[dict[str, Any]]:
        return [c for c in sorted(self.comments.values(), key=lambda c: c["id"]) if c["issue"] == issue]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        return

    # -- plumbing -------------------------------------------------------------------------------

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _json(self) -> Any:
        length = int(self.headers.get("Content-Length", "0"))
        return json.loads(self.rfile.read(length) or b"null")

    def _handle(self, method: str) -> None:
        state = self.server.state
        url = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        with state.lock:
            state.requests.append((method, self.path))
            state.authorizations.append(self.headers.get("Authorization"))
            for fault in state.faults:
                if fault.times > 0 and fault.method == method and re.fullmatch(fault.path_pattern, url.path):
                    fault.times -= 1
                    self._send(fault.status, fault.body, fault.headers)
                    return
            if self.headers.get("Authorization") != f"Bearer {state.token}":
                self._send(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
                return
            prefix = f"/repos/{state.repository}"
            if m := re.fullmatch(r"/orgs/([^/]+)/teams/([^/]+)/memberships/([^/]+)", url.path):
                member = state.teams.get(f"{m.group(1)}/{m.group(2)}", {}).get(m.group(3))
                if method != "GET" or member is None:
                    self._send(404, {"message": "Not Found"})
                else:
                    self._send(200, {"state": member, "role": "member", "url": self.path})
                return
            if not url.path.startswith(prefix + "/"):
                self._send(404, {"message": "Not Found"})
                return
            route = url.path[len(prefix) :]
            body = self._json() if method in ("POST", "PATCH") else None
            if method != "GET" and state.read_only:
                self._send(403, {"message": "Resource not accessible by integration"})
                return
            if isinstance(body, dict) and len(str(body.get("body") or "")) > MAX_BODY:
                self._send(
                    422,
                    {
                        "message": "Validation Failed",
                        "errors": [{"resource": "IssueComment", "code": "custom", "field": "body",
                                    "message": "body is too long (maximum is 65536 characters)"}],
                    },
                )
                return
            self._route(method, route, query, body)

    def _paginate(self, items: list[dict[str, Any]], query: dict[str, str]) -> None:
        per_page = min(100, int(query.get("per_page", "30")))
        page = int(query.get("page", "1"))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(items):
            nxt = dict(query, page=str(page + 1))
            base = f"http://{self.server.server_address[0]}:{self.server.server_address[1]}{urlparse(self.path).path}"
            headers["Link"] = f'<{base}?{urlencode(nxt)}>; rel="next"'
        self._send(200, chunk, headers)

    def _route(self, method: str, route: str, query: dict[str, str], body: Any) -> None:
        state = self.server.state
        if m := re.fullmatch(r"/issues/(\d+)/comments", route):
            number = int(m.group(1))
            if number not in state.issues:
                self._send(404, {"message": "Not Found"})
            elif method == "GET":
                self._paginate([_public_comment(c) for c in state.comments_on(number)], query)
            elif method == "POST":
                cid = state.add_comment(number, body["body"], login="github-actions[bot]")
                self._send(201, _public_comment(state.comments[cid]))
            else:
                self._send(404, {"message": "Not Found"})
            return
        if m := re.fullmatch(r"/issues/comments/(\d+)", route):
            comment = state.comments.get(int(m.group(1)))
            if comment is None or method != "PATCH":
                self._send(404, {"message": "Not Found"})
                return
            comment["body"] = body["body"]
            self._send(200, _public_comment(comment))
            return
        if route == "/issues":
            if method == "GET":
                wanted = set(filter(None, query.get("labels", "").split(",")))
                items = [
                    _public_issue(i)
                    for _, i in sorted(state.issues.items(), reverse=True)
                    if i["state"] == query.get("state", "open") and wanted <= {label["name"] for label in i["labels"]}
                ]
                self._paginate(items, query)
            elif method == "POST":
                if not body.get("title"):
                    self._send(422, {"message": "Validation Failed", "errors": [{"field": "title", "code": "missing_field"}]})
                    return
                number = state.next_number
                state.next_number += 1
                state.issues[number] = {
                    "number": number,
                    "title": body["title"],
                    "body": body.get("body", ""),
                    "state": "open",
                    "labels": [{"name": n} for n in body.get("labels", [])],
                }
                self._send(201, _public_issue(state.issues[number]))
            return
        if m := re.fullmatch(r"/issues/(\d+)", route):
            issue = state.issues.get(int(m.group(1)))
            if issue is None or method != "PATCH":
                self._send(404, {"message": "Not Found"})
                return
            for key in ("title", "body", "state", "state_reason"):
                if key in body:
                    issue[key] = body[key]
            self._send(200, _public_issue(issue))
            return
        if m := re.fullmatch(r"/git/ref/heads/(.+)", route):
            sha = state.branches.get(m.group(1))
            if sha is None or method != "GET":
                self._send(404, {"message": "Not Found"})
                return
            self._send(200, {"ref": f"refs/heads/{m.group(1)}", "object": {"type": "commit", "sha": sha}})
            return
        if m := re.fullmatch(r"/statuses/([0-9a-f]{40})", route):
            if method != "POST":
                self._send(404, {"message": "Not Found"})
            elif body.get("state") not in ("error", "failure", "pending", "success"):
                self._send(422, {"message": "Validation Failed",
                                 "errors": [{"resource": "Status", "code": "custom", "field": "state",
                                             "message": "state is not included in the list"}]})
            else:
                status = {"id": state.next_id, "sha": m.group(1), "state": body["state"],
                          "context": body.get("context") or "default", "description": body.get("description"),
                          "target_url": body.get("target_url")}
                state.next_id += 1
                state.statuses.append(status)
                self._send(201, {k: v for k, v in status.items() if k != "sha"})
            return
        if m := re.fullmatch(r"/commits/([0-9a-f]{40})/statuses", route):
            items = [{k: v for k, v in s.items() if k != "sha"} for s in reversed(state.statuses) if s["sha"] == m.group(1)]
            self._paginate(items, query)
            return
        if m := re.fullmatch(r"/commits/([0-9a-f]{40})/pulls", route):
            sha = m.group(1)
            items = [_public_pull(i) for _, i in sorted(state.issues.items())
                     if "pull_request" in i and sha in (i.get("merge_commit_sha"), i["head_sha"])]
            self._paginate(items, query)
            return
        if m := re.fullmatch(r"/pulls/(\d+)/reviews", route):
            issue = state.issues.get(int(m.group(1)))
            if issue is None or "pull_request" not in issue or method != "GET":
                self._send(404, {"message": "Not Found"})
                return
            self._paginate(list(state.reviews.get(issue["number"], [])), query)
            return
        if m := re.fullmatch(r"/pulls/(\d+)", route):
            issue = state.issues.get(int(m.group(1)))
            if issue is None or "pull_request" not in issue:
                self._send(404, {"message": "Not Found"})
                return
            self._send(200, {"number": issue["number"], "head": {"sha": issue["head_sha"]}})
            return
        self._send(404, {"message": "Not Found"})

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")


def _public_comment(comment: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in comment.items() if k != "issue"}


def _public_pull(issue: dict[str, Any]) -> dict[str, Any]:
    return {"number": issue["number"], "state": issue["state"], "merged_at": issue.get("merged_at"),
            "merge_commit_sha": issue.get("merge_commit_sha"), "head": {"sha": issue["head_sha"]},
            "base": {"ref": issue.get("base", "main")}}


def _public_issue(issue: dict[str, Any]) -> dict[str, Any]:
    public = {k: v for k, v in issue.items() if k not in ("head_sha", "merged_at", "merge_commit_sha", "base")}
    public["html_url"] = f"https://github.example/issues/{issue['number']}"
    return public


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: GitHubState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


class FakeGitHub:
    def __init__(self) -> None:
        self.state = GitHubState()
        self._server = _Server(self.state)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def env(self) -> dict[str, str]:
        return {"GITHUB_TOKEN": self.state.token, "GITHUB_REPOSITORY": self.state.repository, "GITHUB_API_URL": self.url}
