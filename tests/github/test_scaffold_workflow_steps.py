"""The scaffolded policy repository's workflows, run step by step: `reconciler init --from-account`
imports a live account (the sandbox served over HTTP, reached like AWS), and the steps of the
reusable workflows its workflows call run their own scripts against that account and the local
GitHub-like server."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from fake_github import FakeGitHub
from workflow_runner import Runner, load

from reconciler.cli import main
from reconciler.sandbox import Sandbox
from reconciler.sandbox.generator import generate_example
from reconciler.sandbox.server import start_in_thread

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
ACCOUNT, REGION = "111111111111", "us-east-1"
PIN = "0123456789abcdef0123456789abcdef01234567"
HEAD, OLDER = "a" * 40, "b" * 40


@pytest.fixture
def live(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The example account served over HTTP; AWS_* point every reconciler run at it."""
    sandbox = Sandbox()
    generate_example(sandbox.world, account=ACCOUNT, region=REGION)
    # An account default, as a production account has: emergency blocks need one to reach every
    # send path (without it plan refuses them; tests/engine/test_safety_protect.py).
    sms = sandbox.client("pinpoint-sms-voice-v2", account_id=ACCOUNT, region=REGION)
    default = sms.create_protect_configuration(Tags=[{"Key": "Name", "Value": "account-default"}])
    sms.set_account_default_protect_configuration(ProtectConfigurationId=default["ProtectConfigurationId"])
    server, thread = start_in_thread(sandbox.gateway)
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    for name, value in {
        "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": ACCOUNT, "AWS_SECRET_ACCESS_KEY": "sandbox",
        "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true", "RECONCILER_RATE_SCALE": "0",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    yield endpoint
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def policy_repo(tmp_path: Path, live: str, capsys: pytest.CaptureFixture[str]) -> Path:
    repo = tmp_path / "policy"
    code = main(["init", str(repo), "--from-account", ACCOUNT, "--region", REGION,
                 "--workflow-repository", "acme/sms-policy-reconciler", "--workflow-ref", PIN])
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    return repo


def called(repo: Path, workflow: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The reusable workflow a scaffolded workflow calls (this repository's copy at the pin) and
    its inputs: the defaults, then the `with:` the scaffolded workflow passes."""
    (job,) = load(repo / ".github" / "workflows" / workflow)["jobs"].values()
    path, ref = job["uses"].split("@")
    assert ref == PIN and job["with"]["reconciler-ref"] == PIN
    reusable = load(WORKFLOWS / Path(path).name)
    declared = reusable["on"]["workflow_call"]["inputs"]
    inputs = {name: spec["default"] for name, spec in declared.items() if "default" in spec}
    return reusable, {**inputs, **job["with"]}


def runner(repo: Path, github: FakeGitHub, call: dict[str, Any], **expressions: str) -> Runner:
    values = {f"inputs.{name}": str(value) for name, value in call.items() if "${{" not in str(value)}
    values.update({
        "inputs.config": "config", "github.token": github.state.token, "github.run_id": "77",
        "github.server_url": "https://github.example", "github.repository": github.state.repository,
        "github.event.pull_request.head.repo.full_name != github.repository": "false",
        "matrix.target": "prod", "secrets.RECONCILER_PLAN_KEY": "", "secrets.RECONCILER_TEAMS_TOKEN": "",
    })
    values.update({key.replace("__", "."): value for key, value in expressions.items()})
    return Runner(repo, values, env={**github.env(), "GITHUB_ACTOR": "octo", "GITHUB_SERVER_URL": "https://github.example",
                                     "GITHUB_RUN_ID": "77"})


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_plan_workflow_validates_plans_and_keeps_one_comment(policy_repo: Path, github: FakeGitHub) -> None:
    plan, call = called(policy_repo, "plan.yml")
    pull = github.state.add_pull(head_sha=HEAD)
    shutil.copytree(policy_repo / "config", policy_repo / ".base" / "config")  # the base branch's checkout
    run = runner(policy_repo, github, call, github__event__pull_request__number=str(pull),
                 github__event__pull_request__head__sha=HEAD)

    validated = ok(run.run(plan, "validate", "Validate (annotations on the offending lines)"))
    assert "config: valid (0 errors" in validated.stdout
    ok(run.run(plan, "validate", "Targets"))
    assert yaml.safe_load(run.outputs()["matrix"]) == {"include": [{"target": "prod", "account_id": ACCOUNT, "region": REGION}]}

    def plan_and_comment() -> str:
        ok(run.run(plan, "plan", "Plan this pull request and the base branch"))
        assert (policy_repo / "out" / "report.md").is_file()
        artifact = policy_repo / "plans" / "plan-prod"  # download-artifact's layout
        shutil.rmtree(artifact, ignore_errors=True)
        shutil.copytree(policy_repo / "out", artifact)
        run.expressions["needs.validate.result == 'success' && needs.plan.result == 'success'"] = "true"
        ok(run.run(plan, "comment", "Render the comment"))
        ok(run.run(plan, "comment", "Post or update the sticky comment"))
        (comment,) = github.state.comments_on(pull)
        return str(comment["body"])

    # The imported policy matches live: the first plan has nothing to do.
    assert "no changes" in plan_and_comment().lower()
    # The pull request blocks NG: the same comment now shows the block.
    assert main(["block", "NG", "--capability", "SMS", "--reason", "INC-1", "--config", str(policy_repo / "config")]) == 0
    body = plan_and_comment()
    assert "**Blocks** NG (Nigeria) for SMS" in body
    assert len(github.state.comments_on(pull)) == 1


def test_fork_plan_hands_over_plan_json_only_and_the_trusted_side_renders_it(
    policy_repo: Path, github: FakeGitHub
) -> None:
    plan, call = called(policy_repo, "plan.yml")
    fork, fork_call = called(policy_repo, "plan-comment.yml")
    pull = github.state.add_pull(head_sha=HEAD)
    shutil.copytree(policy_repo / "config", policy_repo / ".base" / "config")
    run = runner(policy_repo, github, call, github__event__pull_request__number=str(pull))
    run.expressions["github.event.pull_request.head.repo.full_name != github.repository"] = "true"
    planned = ok(run.run(plan, "plan", "Plan this pull request and the base branch"))
    assert "planning against the sandbox's example account" in planned.stdout  # no snapshot committed
    assert not (policy_repo / "out" / "report.md").exists()  # forks render no Markdown
    shutil.copytree(policy_repo / "out", policy_repo / "plans" / "plan-prod")
    run.expressions["needs.validate.result == 'success' && needs.plan.result == 'success'"] = "true"
    ok(run.run(plan, "comment", "Hand the plan JSON to the trusted workflow (fork pull requests)"))
    handed = sorted(p.name for p in (policy_repo / "fork-plan").iterdir())
    assert handed == ["pr-number", "prod.json"]

    # The trusted side, in a fresh workspace holding only the downloaded artifact.
    trusted = policy_repo.parent / "trusted"
    shutil.copytree(policy_repo / "fork-plan", trusted / "fork-plan")
    post = runner(trusted, github, fork_call, github__event__workflow_run__head_sha=HEAD,
                  github__event__workflow_run__html_url="https://github.example/acme/messaging-policy/actions/runs/76")
    rendered = post.run(fork, "post", "Render the comment from the fork's plan JSON")
    if "--untrusted-fork" in rendered.stderr and "unrecognized" in rendered.stderr:
        pytest.skip("this reconciler's `github render` has no --untrusted-fork yet")
    ok(rendered)
    ok(post.run(fork, "post", "Post or update the sticky comment"))
    (comment,) = github.state.comments_on(pull)
    assert "fork" in comment["body"].lower()
    # A pull request number that does not match the planned commit is refused.
    (trusted / "fork-plan" / "pr-number").write_text(str(github.state.add_pull(head_sha=OLDER)), encoding="utf-8")
    assert post.run(fork, "post", "Post or update the sticky comment").returncode != 0


def test_apply_refuses_a_commit_that_is_no_longer_the_head_of_main(policy_repo: Path, github: FakeGitHub) -> None:
    apply, call = called(policy_repo, "apply.yml")
    check = "Refuse unless this commit is still the head of the branch"
    github.state.branches["main"] = HEAD
    stale = runner(policy_repo, github, call, github__sha=OLDER).run(apply, "apply", check)
    assert stale.returncode == 1
    assert f"::error::commit {OLDER[:12]} is no longer the head of main ({HEAD[:12]})" in stale.stdout
    ok(runner(policy_repo, github, call, github__sha=HEAD).run(apply, "apply", check))


def test_drift_workflow_opens_then_closes_the_issue(policy_repo: Path, github: FakeGitHub, live: str) -> None:
    drift, call = called(policy_repo, "drift.yml")
    run = runner(policy_repo, github, call, inputs__full="false")
    step = "Drift report and issue"
    ok(run.run(drift, "drift", step))
    assert not github.state.issues  # clean: no issue to open or close

    client = boto3.client("pinpoint-sms-voice-v2", endpoint_url=live, region_name=REGION)
    shadow = client.create_protect_configuration(Tags=[{"Key": "Name", "Value": "shadow"}])
    weekly = runner(policy_repo, github, call, inputs__full="true")  # the Sunday run
    ok(weekly.run(drift, "drift", step))
    (issue,) = github.state.issues.values()
    assert issue["state"] == "open" and "1 unmanaged live resource(s)" in issue["body"]
    assert "Full drift (--full)" in issue["body"]  # the report says how it read

    client.delete_protect_configuration(ProtectConfigurationId=shadow["ProtectConfigurationId"])
    ok(run.run(drift, "drift", step))
    assert issue["state"] == "closed"


def test_emergency_block_step_adds_the_block_and_refuses_bad_input(policy_repo: Path, github: FakeGitHub) -> None:
    block, call = called(policy_repo, "emergency-block.yml")
    step = "Add the blocks to emergency.yaml"
    good = runner(policy_repo, github, call, inputs__countries="ng, gh", inputs__capability="SMS",
                  inputs__reason="SMS pumping, INC-9")
    ok(good.run(block, "block", step))
    emergency = yaml.safe_load((policy_repo / "config" / "emergency.yaml").read_text(encoding="utf-8"))
    assert [(b["country"], b["capabilities"]) for b in emergency["emergency_blocks"]] == [("NG", ["SMS"]), ("GH", ["SMS"])]
    assert main(["validate", "--config", str(policy_repo / "config")]) == 0
    bad = runner(policy_repo, github, call, inputs__countries="NG; rm -rf /", inputs__capability="SMS", inputs__reason="x")
    result = bad.run(block, "block", step)
    assert result.returncode == 1 and "countries must be two-letter codes" in result.stdout


def test_scaffolded_workflows_pass_actionlint(policy_repo: Path) -> None:
    actionlint = shutil.which("actionlint") or str(Path(sys.executable).parent / "actionlint")
    files = sorted(str(p) for p in (policy_repo / ".github" / "workflows").glob("*.yml"))
    result = subprocess.run([actionlint, *files], capture_output=True, text=True, timeout=120, cwd=policy_repo)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_maintainers_live_plan_of_a_fork_plans_only_unchanged_targets_with_main_code(
    policy_repo: Path, github: FakeGitHub
) -> None:
    """`/reconciler plan` on a fork's pull request: the fork's config/ is data in .pr/, planned
    against live by the default branch's reconciler; a target the fork re-points is not planned."""
    fork, call = called(policy_repo, "plan-comment.yml")
    pull = github.state.add_pull(head_sha=HEAD)
    pr_config = policy_repo / ".pr" / "config"  # the sparse checkout of the pull request's head
    shutil.copytree(policy_repo / "config", pr_config)
    assert main(["block", "NG", "--capability", "SMS", "--reason", "INC-2", "--config", str(pr_config)]) == 0
    targets = pr_config / "targets.yaml"
    declared = yaml.safe_load(targets.read_text(encoding="utf-8"))
    declared["targets"].append({"name": "other", "account_id": "222222222222", "region": REGION})
    targets.write_text(yaml.safe_dump(declared), encoding="utf-8")
    run = runner(policy_repo, github, call, github__event__issue__number=str(pull), github__actor="maintainer")

    ok(run.run(fork, "live-plan", "The pull request's head commit"))
    assert run.outputs() == {"sha": HEAD}
    run.expressions["steps.head.outputs.sha"] = HEAD
    checked = ok(run.run(fork, "live-plan", "Targets unchanged from the default branch"))
    assert "::warning::not planned (new or changed target): other\t222222222222\tus-east-1" in checked.stdout
    ok(run.run(fork, "live-plan", "Plan the pull request's policy against live"))
    # The default branch's guardrails judge the live plan: a block only, so nothing waits.
    ok(run.run(fork, "live-plan", "Guardrails (approvals on the head commit, commit statuses)"))
    assert github.state.statuses_of(HEAD)["sms-policy/guardrails"]["state"] == "success"
    ok(run.run(fork, "live-plan", "Render the comment"))
    ok(run.run(fork, "live-plan", "Post or update the sticky comment"))
    (comment,) = github.state.comments_on(pull)
    assert f"SMS policy plan against live AWS for {HEAD[:12]} (requested by &#64;maintainer)" in comment["body"]  # no @-mention ping
    assert "**Blocks** NG (Nigeria) for SMS" in comment["body"]
    assert "222222222222" not in comment["body"]
    assert "#### Guardrails" in comment["body"]

    # The fork pushes again after the request: the plan is not posted on the newer commit.
    github.state.issues[pull]["head_sha"] = OLDER
    assert run.run(fork, "live-plan", "Post or update the sticky comment").returncode != 0


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=repo,
                            capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_guardrails_hold_a_high_risk_opening_until_the_team_approves_and_apply_refuses_a_merge_without_it(
    policy_repo: Path, github: FakeGitHub
) -> None:
    """The scaffolded guardrails: lifting the block of Nigeria (on the high_risk list) shows it first,
    its status waits for your-org/fraud's approval of the head, and apply refuses a merge without it."""
    config = policy_repo / "config"
    lifted = (config / "emergency.yaml").read_text(encoding="utf-8")
    # main: Nigeria blocked for SMS, applied to live.
    assert main(["block", "NG", "--capability", "SMS", "--reason", "INC-7", "--config", str(config)]) == 0
    assert main(["apply", "--config", str(config), "--auto-approve"]) == 0
    git(policy_repo, "init", "-q", "-b", "main")
    git(policy_repo, "add", "config")
    git(policy_repo, "commit", "-qm", "main")
    shutil.copytree(config, policy_repo / ".base" / "config")  # the base branch's checkout
    # The pull request lifts the block: SMS to Nigeria becomes possible again.
    (config / "emergency.yaml").write_text(lifted, encoding="utf-8")
    git(policy_repo, "commit", "-qam", "lift the NG block")
    head = git(policy_repo, "rev-parse", "HEAD")

    plan, call = called(policy_repo, "plan.yml")
    pull = github.state.add_pull(head_sha=head)
    run = runner(policy_repo, github, call, github__event__pull_request__number=str(pull),
                 github__event__pull_request__head__sha=head)
    run.expressions["needs.validate.result == 'success' && needs.plan.result == 'success'"] = "true"
    github.state.add_team_member("your-org/fraud", "fiona")

    def review_round() -> str:
        ok(run.run(plan, "comment", "Guardrails (approvals on the head commit, commit statuses)"))
        ok(run.run(plan, "comment", "Render the comment"))
        ok(run.run(plan, "comment", "Post or update the sticky comment"))
        (comment,) = github.state.comments_on(pull)
        return str(comment["body"])

    ok(run.run(plan, "plan", "Plan this pull request and the base branch"))
    shutil.copytree(policy_repo / "out", policy_repo / "plans" / "plan-prod")
    body = review_round()
    status = github.state.statuses_of(head)
    assert status["sms-policy/guardrails"]["state"] == "pending"
    assert status["sms-policy/guardrails"]["description"] == "needs approval from your-org/fraud"
    assert status["sms-policy/guardrail/high-risk-sms"]["description"].startswith(
        "needs approval from your-org/fraud: prod: 1 country on list high_risk newly reachable for SMS: Nigeria (NG)")
    assert body.index("#### Guardrails") < body.index("#### Effect") < body.index("Newly reachable countries")
    effect = body[body.index("#### Effect"):body.index("The resource-level changes follow")]
    first_section = effect.split("\n- ")[1]  # riskiest first: the newly reachable countries
    assert first_section.startswith("🔴 **Newly reachable countries**") and "Nigeria (NG) BLOCK -> ALLOW" in first_section
    assert "⏳ **Needs approval from `your-org/fraud`** (`high-risk-sms`)" in body

    # A review by the fraud team (the workflow runs again on pull_request_review): approved.
    github.state.review(pull, "fiona")
    body = review_round()
    assert github.state.statuses_of(head)["sms-policy/guardrails"]["state"] == "success"
    assert "✅ **Approved by `@fiona` (`your-org/fraud`)** (`high-risk-sms`)" in body

    # Merged without a fresh approval after one more push: apply refuses the merge commit.
    (config / "README-note.txt").write_text("typo fix\n", encoding="utf-8")
    git(policy_repo, "add", "config")
    git(policy_repo, "commit", "-qm", "one more push")
    pushed = git(policy_repo, "rev-parse", "HEAD")
    github.state.push(pull, pushed)
    git(policy_repo, "checkout", "-q", "-b", "merged", "main")
    git(policy_repo, "merge", "-q", "--no-ff", "-m", "Merge pull request", pushed.strip())
    merge = git(policy_repo, "rev-parse", "HEAD")
    github.state.merge(pull, merge)
    apply, apply_call = called(policy_repo, "apply.yml")
    gate = "Refuse a merge that lacked a guardrail approval"
    refused = runner(policy_repo, github, apply_call, github__sha=merge).run(apply, "apply", gate)
    assert refused.returncode == 1
    assert (f"rule high-risk-sms needs approval from your-org/fraud, but pull request #{pull} was merged without it "
            f"on its head {pushed[:12]}") in refused.stderr
    # Approved on the head at merge: the merge may be applied.
    github.state.review(pull, "fiona", commit_id=pushed)
    ok(runner(policy_repo, github, apply_call, github__sha=merge).run(apply, "apply", gate))
