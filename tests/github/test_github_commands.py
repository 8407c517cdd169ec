"""`reconciler github comment|drift-issue|render` against a local GitHub-like server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fake_github import FakeGitHub, Fault

from reconciler.cli import main
from reconciler.github.client import GitHubClient, GitHubError
from reconciler.github.comments import marker, upsert_comment
from reconciler.plan import FLAG_BLOCKS_COUNTRY, PHASE_BLOCKS, Change, Plan

MARK = "<!-- sms-policy-reconciler:plan:all -->"


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# -- sticky comment ------------------------------------------------------------------------------


def test_first_post_creates_one_comment_with_marker(github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pr = github.state.add_pull()
    github.state.add_comment(pr, "LGTM")
    body = write(tmp_path, "c.md", "## Plan\n1 change\n")

    assert main(["github", "comment", "--pr", str(pr), "--body-file", body]) == 0

    comments = github.state.comments_on(pr)
    assert [c["body"] for c in comments] == ["LGTM", f"{MARK}\n## Plan\n1 change\n"]
    assert "comment created" in capsys.readouterr().out


def test_second_push_updates_in_place(github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pr = github.state.add_pull()
    assert main(["github", "comment", "--pr", str(pr), "--body-file", write(tmp_path, "a.md", "first\n")]) == 0
    first_id = github.state.comments_on(pr)[0]["id"]

    assert main(["github", "comment", "--pr", str(pr), "--body-file", write(tmp_path, "b.md", "second\n")]) == 0
    comments = github.state.comments_on(pr)
    assert len(comments) == 1
    assert comments[0]["id"] == first_id
    assert comments[0]["body"] == f"{MARK}\nsecond\n"
    assert "comment updated" in capsys.readouterr().out

    # Same body again: nothing is written.
    writes_before = sum(1 for m, _ in github.state.requests if m != "GET")
    assert main(["github", "comment", "--pr", str(pr), "--body-file", write(tmp_path, "b.md", "second\n")]) == 0
    assert sum(1 for m, _ in github.state.requests if m != "GET") == writes_before
    assert "comment unchanged" in capsys.readouterr().out


def test_finds_its_comment_beyond_the_first_page(github: FakeGitHub, tmp_path: Path) -> None:
    pr = github.state.add_pull()
    for i in range(150):
        github.state.add_comment(pr, f"chatter {i}")
    own = github.state.add_comment(pr, f"{MARK}\nold plan\n", login="github-actions[bot]")
    for i in range(60):
        github.state.add_comment(pr, f"more chatter {i}")

    assert main(["github", "comment", "--pr", str(pr), "--body-file", write(tmp_path, "c.md", "new plan\n")]) == 0

    assert github.state.comments[own]["body"] == f"{MARK}\nnew plan\n"
    assert len(github.state.comments_on(pr)) == 211
    pages = [p for m, p in github.state.requests if m == "GET" and "/comments" in p]
    assert len(pages) == 3  # 100 + 100 + 11, following Link rel="next"


def test_one_comment_per_marker_key(github: FakeGitHub, tmp_path: Path) -> None:
    pr = github.state.add_pull()
    for key in ("prod", "staging", "prod"):
        assert main(["github", "comment", "--pr", str(pr), "--key", key, "--body-file", write(tmp_path, "c.md", f"{key}\n")]) == 0
    bodies = sorted(c["body"] for c in github.state.comments_on(pr))
    assert bodies == [
        "<!-- sms-policy-reconciler:plan:prod -->\nprod\n",
        "<!-- sms-policy-reconciler:plan:staging -->\nstaging\n",
    ]


def test_fork_mode_comment_says_sandbox_and_checks_the_head(github: FakeGitHub, tmp_path: Path) -> None:
    """A fork PR is planned against the snapshot; the privileged poster checks the report's commit."""
    pr = github.state.add_pull(head_sha="b" * 40)
    plan = Plan(
        target="prod",
        changes=[Change("protect", "update", "country-rules", "protect/main/rules/SMS/block", {"AU": "ALLOW"},
                        {"AU": "BLOCK"}, phase=PHASE_BLOCKS, flags=frozenset({FLAG_BLOCKS_COUNTRY}),
                        data={"name": "main", "capability": "SMS", "updates": {"AU": "BLOCK"}})],
    )
    plan_file = write(tmp_path, "plan.json", json.dumps({"target": "prod", "changes": [c.to_json() for c in plan.changes]}))
    out = str(tmp_path / "comment.md")
    assert main(["github", "render", "--plan", plan_file, "--fork", "--out", out]) == 0

    # The report was made for an older commit: refused, nothing posted.
    assert main(["github", "comment", "--pr", str(pr), "--body-file", out, "--expect-head-sha", "c" * 40]) == 1
    assert github.state.comments_on(pr) == []

    assert main(["github", "comment", "--pr", str(pr), "--body-file", out, "--expect-head-sha", "b" * 40]) == 0
    (comment,) = github.state.comments_on(pr)
    assert "Planned against the committed sandbox snapshot, not live AWS" in comment["body"]
    assert "**Blocks** AU (Australia) for SMS on `main`" in comment["body"]


def test_read_only_fork_token_fails_with_a_clear_hint(github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pr = github.state.add_pull()
    github.state.read_only = True
    assert main(["github", "comment", "--pr", str(pr), "--body-file", write(tmp_path, "c.md", "x\n")]) == 1
    err = capsys.readouterr().err
    assert "HTTP 403: Resource not accessible by integration" in err
    assert "forks only get a read-only token" in err


def test_bad_token_and_missing_environment(github: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    pr = github.state.add_pull()
    body = write(tmp_path, "c.md", "x\n")
    monkeypatch.setenv("GITHUB_TOKEN", "wrong")
    assert main(["github", "comment", "--pr", str(pr), "--body-file", body]) == 1
    err = capsys.readouterr().err
    assert "HTTP 401: Bad credentials" in err and "GITHUB_TOKEN is missing, expired or invalid" in err
    assert "wrong" not in err  # the token is never printed

    monkeypatch.delenv("GITHUB_TOKEN")
    assert main(["github", "comment", "--pr", str(pr), "--body-file", body]) == 1
    assert "error: GITHUB_TOKEN not set" in capsys.readouterr().err


def test_unknown_pull_request_is_404(github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["github", "comment", "--pr", "999", "--body-file", write(tmp_path, "c.md", "x\n")]) == 1
    err = capsys.readouterr().err
    assert "HTTP 404: Not Found" in err and "pull request / issue number" in err


def test_body_over_githubs_limit_is_refused_before_posting(github: FakeGitHub, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    pr = github.state.add_pull()
    assert main(["github", "comment", "--pr", str(pr), "--body-file", write(tmp_path, "c.md", "x" * 70_000)]) == 1
    assert "GitHub accepts at most 65,536" in capsys.readouterr().err
    assert [m for m, _ in github.state.requests] == []


def test_validation_error_422_is_reported(github: FakeGitHub) -> None:
    pr = github.state.add_pull()
    github.state.faults.append(
        Fault("POST", r".*/comments", 422, {"message": "Validation Failed", "errors": [{"message": "body is invalid"}]})
    )
    client = GitHubClient.from_env()
    with pytest.raises(GitHubError) as caught:
        upsert_comment(client, pr, "x", marker("plan", "all"))
    assert caught.value.status == 422
    assert "Validation Failed; body is invalid" in caught.value.message


def test_retries_5xx_and_secondary_rate_limit_then_succeeds(github: FakeGitHub) -> None:
    pr = github.state.add_pull()
    github.state.faults += [
        Fault("GET", r".*/comments", 502, {"message": "Bad Gateway"}),
        Fault("POST", r".*/comments", 403, {"message": "You have exceeded a secondary rate limit."},
              headers={"Retry-After": "7"}),
    ]
    sleeps: list[float] = []
    client = GitHubClient.from_env()
    client.sleep = sleeps.append
    posted = upsert_comment(client, pr, "hello", marker("plan", "all"))
    assert posted.action == "created"
    assert len(sleeps) == 2 and 0.5 <= sleeps[0] <= 1.0 and sleeps[1] == 7.0
    assert len(github.state.comments_on(pr)) == 1


def test_persistent_5xx_gives_up_after_max_attempts(github: FakeGitHub) -> None:
    pr = github.state.add_pull()
    github.state.faults.append(Fault("GET", r".*/comments", 503, {"message": "Service Unavailable"}, times=99))
    client = GitHubClient.from_env()
    sleeps: list[float] = []
    client.sleep = sleeps.append
    with pytest.raises(GitHubError, match="HTTP 503: Service Unavailable"):
        upsert_comment(client, pr, "hello", marker("plan", "all"))
    assert len(sleeps) == client.max_attempts - 1
    assert github.state.comments_on(pr) == []


# -- drift issue ---------------------------------------------------------------------------------


def test_drift_issue_open_update_close(github: FakeGitHub, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Noise: a pull request labelled drift and another target's issue must not be touched.
    pr = github.state.add_pull()
    github.state.issues[pr]["labels"] = [{"name": "drift"}]
    assert main(["github", "drift-issue", "--target", "staging", "--report-file", write(tmp_path, "s.md", "staging drift\n")]) == 0

    assert main(["github", "drift-issue", "--target", "prod", "--report-file", write(tmp_path, "d.md", "AU opened\n")]) == 0
    prod = [i for i in github.state.issues.values() if "drift:prod" in (i["body"] or "")]
    assert len(prod) == 1
    issue = prod[0]
    assert issue["title"] == "Drift detected on target prod"
    assert issue["labels"] == [{"name": "drift"}]
    assert issue["state"] == "open"
    assert issue["body"] == "<!-- sms-policy-reconciler:drift:prod -->\nAU opened\n"

    assert main(["github", "drift-issue", "--target", "prod", "--report-file", write(tmp_path, "d.md", "AU and NZ opened\n")]) == 0
    assert len([i for i in github.state.issues.values() if "drift:prod" in (i["body"] or "")]) == 1
    assert issue["body"].endswith("AU and NZ opened\n")
    assert "issue updated" in capsys.readouterr().out

    assert main(["github", "drift-issue", "--target", "prod", "--clean", "--run-url", "https://ci/run/5"]) == 0
    assert issue["state"] == "closed" and issue["state_reason"] == "completed"
    (closing,) = github.state.comments_on(issue["number"])
    assert closing["body"].startswith("Drift is gone") and "https://ci/run/5" in closing["body"]

    # Clean again: nothing to close; drift returns: a new issue is opened.
    assert main(["github", "drift-issue", "--target", "prod", "--clean"]) == 0
    assert "no open drift issue for target prod" in capsys.readouterr().out
    assert main(["github", "drift-issue", "--target", "prod", "--report-file", write(tmp_path, "d.md", "again\n")]) == 0
    open_prod = [i for i in github.state.issues.values() if "drift:prod" in (i["body"] or "") and i["state"] == "open"]
    assert len(open_prod) == 1 and open_prod[0]["number"] != issue["number"]
    # Untouched: the staging issue and the pull request.
    staging = [i for i in github.state.issues.values() if "drift:staging" in (i["body"] or "")]
    assert staging[0]["state"] == "open"
    assert github.state.issues[pr]["body"] == ""


def test_drift_issue_read_only_token_fails(github: FakeGitHub, tmp_path: Path) -> None:
    github.state.read_only = True
    assert main(["github", "drift-issue", "--target", "prod", "--report-file", write(tmp_path, "d.md", "x\n")]) == 1


# -- as a subprocess, the way the workflows run it -----------------------------------------------


def test_subprocess_comment_exit_codes(github: FakeGitHub, tmp_path: Path) -> None:
    pr = github.state.add_pull()
    body = write(tmp_path, "c.md", "plan\n")
    env = {**os.environ, **github.env()}
    ok = subprocess.run([sys.executable, "-m", "reconciler", "github", "comment", "--pr", str(pr), "--body-file", body],
                        env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    github.state.read_only = True
    body = write(tmp_path, "c.md", "newer plan\n")
    failed = subprocess.run([sys.executable, "-m", "reconciler", "github", "comment", "--pr", str(pr), "--body-file", body],
                            env=env, capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1
    assert failed.stderr.startswith("error: GitHub API PATCH")
    assert "Traceback" not in failed.stderr


# -- render ----------------------------------------------------------------------------------------


def test_render_reads_engine_plan_files_and_appends_an_escaped_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from reconciler.report import json_report

    pr = Plan(target="prod", changes=[
        Change("protect", "update", "country-rules", "protect/main/rules/SMS", {"AU": "BLOCK", "NG": "BLOCK"},
               {"AU": "ALLOW", "NG": "ALLOW"}, data={"name": "main", "capability": "SMS"},
               flags=frozenset({"opens-country"})),
    ])
    base = Plan(target="prod", changes=[
        Change("protect", "update", "country-rules", "protect/main/rules/SMS", {"NG": "BLOCK"}, {"NG": "ALLOW"},
               data={"name": "main", "capability": "SMS"}, flags=frozenset({"opens-country"})),
    ])
    pr_file, base_file = tmp_path / "pr.json", tmp_path / "base.json"
    json_report.save([pr], pr_file)
    json_report.save([base], base_file)
    log = write(tmp_path, "apply.txt", "applied <b>2</b> changes to +12065550123\n")
    assert main(["github", "render", "--plan", str(pr_file), "--base-drift", str(base_file), "--log", log]) == 0
    out = capsys.readouterr().out
    assert "**1 change(s) in this pull request** across 1 target(s); **1 already drifted**" in out
    assert "<pre>\napplied &lt;b&gt;2&lt;/b&gt; changes to +1206555****\n</pre>" in out

    assert main(["github", "render", "--plan", str(tmp_path / "missing.json")]) == 1
    assert "missing.json: no such plan file" in capsys.readouterr().err


def test_long_rate_limit_window_fails_fast_instead_of_waiting(github: FakeGitHub) -> None:
    import time

    pr = github.state.add_pull()
    github.state.faults.append(
        Fault("GET", r".*/comments", 403, {"message": "API rate limit exceeded"},
              headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(time.time()) + 3000)})
    )
    client = GitHubClient.from_env()
    sleeps: list[float] = []
    client.sleep = sleeps.append
    with pytest.raises(GitHubError) as caught:
        upsert_comment(client, pr, "x", marker("plan", "all"))
    assert sleeps == []
    assert caught.value.hint is not None and "rate limited for another" in caught.value.hint


def test_pagination_never_follows_a_link_to_another_host() -> None:
    """The token is sent with every request, so a next-page link elsewhere is refused."""
    from reconciler.github.client import Response

    client = GitHubClient(token="t", repository="acme/policy", api_url="https://api.github.com")
    asked: list[str] = []

    def request(method: str, path_or_url: str, body: object = None, params: object = None) -> Response:
        asked.append(path_or_url)
        return Response(200, {"link": '<https://evil.example/repos/acme/policy/issues?page=2>; rel="next"'}, [{"id": 1}])

    client.request = request  # type: ignore[method-assign]
    items = client.paginate("/repos/acme/policy/issues")
    assert next(items) == {"id": 1}
    with pytest.raises(GitHubError, match="another host"):
        next(items)
    assert asked == ["/repos/acme/policy/issues"]


# -- redirects ----------------------------------------------------------------------------------


def test_a_redirect_to_another_host_never_carries_the_token(github: FakeGitHub) -> None:
    """The API answering 302 to another host: urllib would copy Authorization there."""
    pr = github.state.add_pull()
    with FakeGitHub() as elsewhere:
        other = elsewhere.url.replace("127.0.0.1", "localhost")  # another host, on loopback
        github.state.faults.append(
            Fault("GET", r".*/issues/\d+/comments", 302, {}, headers={"Location": f"{other}/repos/acme/messaging-policy/issues/{pr}/comments"})
        )
        client = GitHubClient.from_env()
        with pytest.raises(GitHubError) as caught:
            list(client.paginate(client.repo_path(f"/issues/{pr}/comments")))
        assert elsewhere.state.authorizations == [None]  # followed, but without the token
        assert caught.value.status == 401
    assert github.state.authorizations == [f"Bearer {github.state.token}"]


def test_a_redirect_within_the_api_keeps_the_token(github: FakeGitHub) -> None:
    pr = github.state.add_pull()
    github.state.add_comment(pr, "hello")
    github.state.faults.append(
        Fault("GET", r"/repos/old/name/issues/\d+/comments", 301, {},
              headers={"Location": f"{github.url}/repos/acme/messaging-policy/issues/{pr}/comments"})
    )
    client = GitHubClient(token=github.state.token, repository="old/name", api_url=github.url)
    assert [c["body"] for c in client.paginate(client.repo_path(f"/issues/{pr}/comments"))] == ["hello"]
    assert github.state.authorizations == [f"Bearer {github.state.token}"] * 2
