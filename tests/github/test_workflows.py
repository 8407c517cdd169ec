"""Hardening rules every workflow must keep, in this repository and in the policy repository
`reconciler init` scaffolds (actionlint checks syntax; these check policy)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.cli import main
from reconciler.scaffold import Pin, Target, render

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS_DIR = REPO / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOWS_DIR.glob("*.yml"))
PINNED_ACTION = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
LOCAL_REUSABLE = re.compile(r"^\./\.github/workflows/(reconciler-[a-z-]+\.yml)$")
PIN = Pin("acme/sms-policy-reconciler", "0123456789abcdef0123456789abcdef01234567")
SCAFFOLD = {
    Path(path).name: text
    for path, text in render(PIN, Target("prod", "111111111111", "us-east-1"), starter=True).items()
    if path.startswith(".github/workflows/")
}
REMOTE_REUSABLE = re.compile(rf"^{PIN.repository}/\.github/workflows/(reconciler-[a-z-]+\.yml)@{PIN.ref}$")
LOCK_INSTALL = (
    "python -m pip install --quiet --require-hashes -r requirements/runtime.lock"
    " && python -m pip install --quiet --no-deps ."
)
# (side, file name, text): this repository's workflows and the scaffolded policy repository's.
ALL = [("repo", p.name, p.read_text(encoding="utf-8")) for p in WORKFLOWS] + [
    ("scaffold", name, text) for name, text in sorted(SCAFFOLD.items())
]
IDS = [f"{side}:{name}" for side, name, _ in ALL]


def parse(text: str) -> dict[str, Any]:
    document = yaml.safe_load(text)
    # YAML 1.1 reads the key `on` as True.
    document["on"] = document.pop(True, document.get("on"))
    return dict(document)


def load(path: Path) -> dict[str, Any]:
    return parse(path.read_text(encoding="utf-8"))


def reusable_of(side: str, uses: str) -> dict[str, Any]:
    """The reusable workflow a caller job names (for the scaffold: this repository's copy)."""
    pattern = LOCAL_REUSABLE if side == "repo" else REMOTE_REUSABLE
    match = pattern.match(uses)
    assert match, f"{uses}: a {side} workflow calls this repository's reusable workflows " + (
        "locally" if side == "repo" else f"pinned to a commit ({PIN.repository}/…@SHA)"
    )
    return load(WORKFLOWS_DIR / match.group(1))


def steps_of(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, step) for name, job in document["jobs"].items() for step in job.get("steps", [])]


def test_the_workflows_exist() -> None:
    names = {p.name for p in WORKFLOWS}
    assert {"ci.yml", "plan.yml", "plan-comment.yml", "apply.yml", "drift.yml", "emergency-block.yml"} <= names
    reusable = {"reconciler-plan.yml", "reconciler-fork-plan.yml", "reconciler-apply.yml", "reconciler-drift.yml",
                "reconciler-emergency-block.yml"}
    assert reusable <= names
    assert set(SCAFFOLD) == {"plan.yml", "plan-comment.yml", "apply.yml", "drift.yml", "emergency-block.yml"}
    for name in reusable:
        assert "workflow_call" in load(WORKFLOWS_DIR / name)["on"], name


@pytest.mark.parametrize(("side", "name", "text"), ALL, ids=IDS)
def test_actions_and_reusable_workflows_are_pinned_to_commit_shas_with_their_version(side: str, name: str, text: str) -> None:
    for number, line in enumerate(text.splitlines(), 1):
        match = re.match(r"\s*(?:-\s*)?uses:\s*(\S+)(.*)$", line)
        if not match:
            continue
        uses = match.group(1)
        if LOCAL_REUSABLE.match(uses) and side == "repo":
            continue  # this repository's own reusable workflows: the same commit as the caller
        assert PINNED_ACTION.match(uses), f"{name}:{number}: {uses} is not pinned to a commit SHA"
        assert re.search(r"#\s*v\d", match.group(2)), f"{name}:{number}: add the version as a comment"


@pytest.mark.parametrize(("side", "name", "text"), ALL, ids=IDS)
def test_minimal_permissions_and_no_pull_request_target(side: str, name: str, text: str) -> None:
    document = parse(text)
    triggers = document["on"]
    assert "pull_request_target" not in (triggers if isinstance(triggers, dict) else [triggers])
    assert document.get("permissions") == {"contents": "read"}, "default to read-only at the top"
    for job_name, job in document["jobs"].items():
        granted = job.get("permissions", document["permissions"])
        writes = {scope for scope, level in granted.items() if level == "write"}
        if name == "ci.yml":
            assert not writes, f"{job_name}: CI needs no write scope"
        if "uses" in job:
            callee = reusable_of(side, job["uses"])
            needed: dict[str, str] = {}
            for callee_job in callee["jobs"].values():
                for scope, level in callee_job.get("permissions", callee["permissions"]).items():
                    if level == "write" or scope not in needed:
                        needed[scope] = level
            # GitHub refuses a call whose callee asks for more; granting more than it asks is waste.
            assert granted == needed, f"{name} {job_name}: grant exactly what the callee's jobs ask: {needed}"
            continue
        if "id-token" in writes:
            assert any("configure-aws-credentials" in str(step.get("uses", "")) for step in job["steps"]), job_name


@pytest.mark.parametrize(("side", "name", "text"), ALL, ids=IDS)
def test_callers_pass_declared_inputs_and_every_required_one(side: str, name: str, text: str) -> None:
    for job_name, job in parse(text)["jobs"].items():
        if "uses" not in job:
            continue
        call = reusable_of(side, job["uses"])["on"]["workflow_call"]
        declared, given = call.get("inputs", {}), job.get("with", {})
        assert set(given) <= set(declared), f"{name} {job_name}: unknown inputs {set(given) - set(declared)}"
        required = {key for key, spec in declared.items() if spec.get("required")}
        assert required <= set(given), f"{name} {job_name}: missing inputs {required - set(given)}"
        assert set(job.get("secrets", {})) <= set(call.get("secrets", {})), f"{name} {job_name}: undeclared secrets"
        if side == "scaffold":
            assert given["reconciler-repository"] == PIN.repository and given["reconciler-ref"] == PIN.ref


def test_the_scaffold_pins_one_commit_everywhere() -> None:
    files = render(PIN, Target("prod", "111111111111", "us-east-1"), starter=True)
    assert f"git+https://github.com/{PIN.repository}@{PIN.ref}" in files["requirements.txt"]
    hooks = yaml.safe_load(files[".pre-commit-config.yaml"])["repos"]
    assert hooks == [{"repo": f"https://github.com/{PIN.repository}", "rev": PIN.ref, "hooks": [{"id": "reconciler-validate"}]}]
    shas = set(re.findall(r"\b[0-9a-f]{40}\b", "".join(SCAFFOLD.values())))
    action_shas = set(re.findall(r"@([0-9a-f]{40})", "".join(p.read_text(encoding="utf-8") for p in WORKFLOWS)))
    assert shas - action_shas == {PIN.ref}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_secret_or_untrusted_expression_inside_scripts(path: Path) -> None:
    document = load(path)
    for name, step in steps_of(document):
        script = step.get("run", "")
        # Values reach scripts through env:, never interpolated into the script text.
        assert "${{" not in script, f"{path.name} {name}: expression inside a script: {script[:80]!r}"
        # Only these secrets reach a step, each under its own name: the workflow token, the
        # plan key that encrypts drift checkpoints (reconciler/checkpoint.py), and the token that
        # reads team memberships for guardrail approvals (reconciler/guardrails/approvals.py).
        for variable, value in (step.get("env") or {}).items():
            allowed = {"GITHUB_TOKEN", "RECONCILER_PLAN_KEY", "RECONCILER_TEAMS_TOKEN"}
            assert "secrets." not in str(value) or (
                variable in allowed and str(value) == f"${{{{ secrets.{variable} }}}}"
            ), (path.name, name, variable)


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_checkout_persists_the_git_credential(path: Path) -> None:
    """Pushes go through create-pull-request's own token; a credential kept in .git/config would
    be readable by every later step, including those running with AWS credentials."""
    for name, step in steps_of(load(path)):
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert (step.get("with") or {}).get("persist-credentials") is False, f"{path.name} {name}: {step}"
        if str(step.get("uses", "")).startswith("peter-evans/create-pull-request@"):
            assert step["with"]["token"] == "${{ github.token }}", f"{path.name} {name}: push with the job's scoped token"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_job_running_the_reconciler_installs_hash_pinned_dependencies(path: Path) -> None:
    document = load(path)
    for name, job in document["jobs"].items():
        steps = job.get("steps", [])
        scripts = [str(step.get("run", "")) for step in steps]
        for script in scripts:
            for install in re.findall(r"pip install[^\n&|;]*", script):
                assert "--require-hashes -r requirements/runtime.lock" in install or install.endswith("--no-deps ."), (
                    f"{path.name} {name}: unpinned install: {install!r}"
                )
        if name == "checks" or not any(re.search(r"(^|\s)reconciler\s", s) for s in scripts):
            continue
        installs = [step for step in steps if step.get("run") == LOCK_INSTALL]
        assert len(installs) == 1 and installs[0]["working-directory"] == ".reconciler", f"{path.name} {name}"
        reconciler_checkout = next(s for s in steps if (s.get("with") or {}).get("path") == ".reconciler")
        assert reconciler_checkout["with"]["ref"] == "${{ inputs.reconciler-ref }}"


def test_fork_markdown_is_never_posted() -> None:
    plan = load(WORKFLOWS_DIR / "reconciler-plan.yml")
    comment = {step.get("name"): step for step in plan["jobs"]["comment"]["steps"]}
    assert comment["Render the comment"]["if"] == "env.FORK != 'true'"
    assert comment["Post or update the sticky comment"]["if"] == "env.FORK != 'true'"
    handover = comment["Hand the plan JSON to the trusted workflow (fork pull requests)"]
    assert 'cp "$dir/pr.json"' in handover["run"] and ".md" not in handover["run"]
    upload = next(s for s in plan["jobs"]["comment"]["steps"] if "upload-artifact" in str(s.get("uses")))
    assert upload["with"] == {"name": "fork-plan", "path": "fork-plan/", "retention-days": 7}
    assert 'if [ "$FORK" != "true" ]; then' in next(
        s["run"] for s in plan["jobs"]["plan"]["steps"] if s.get("name") == "Plan this pull request and the base branch"
    )

    post = load(WORKFLOWS_DIR / "reconciler-fork-plan.yml")["jobs"]["post"]
    scripts = [str(step.get("run", "")) for step in post["steps"]]
    bodies = {m for s in scripts for m in re.findall(r"--body-file\s+(\S+)", s)}
    assert bodies == {"comment/comment.md"}
    (render_step,) = [s for s in scripts if "github render" in s]
    assert re.search(r'reconciler github render "\$\{plans\[@\]\}" --untrusted-fork ', render_step)
    assert '--plan "$file"' in render_step and 'fork-plan/*.json' in render_step
    assert not any(re.search(r"fork-plan/[^ ]*\.md|fork-plan/\*(\s|$)", s) for s in scripts)
    assert "conclusion == 'failure'" in post["if"] and "No plan for commit" in render_step


def test_a_maintainers_live_plan_of_a_fork_never_runs_fork_code() -> None:
    job = load(WORKFLOWS_DIR / "reconciler-fork-plan.yml")["jobs"]["live-plan"]
    assert "author_association" in job["if"] and '"OWNER", "MEMBER", "COLLABORATOR"' in job["if"]
    assert "startsWith(github.event.comment.body, '/reconciler plan')" in job["if"]
    pr_checkout = next(s for s in job["steps"] if (s.get("with") or {}).get("path") == ".pr")
    assert pr_checkout["with"]["sparse-checkout"] == "${{ inputs.config }}"
    assert pr_checkout["with"]["ref"] == "${{ steps.head.outputs.sha }}"
    assert all(s.get("working-directory") != ".pr" for s in job["steps"])
    scripts = "\n".join(str(s.get("run", "")) for s in job["steps"])
    # .pr is only ever a --config argument: data read by the default branch's reconciler.
    assert {m.split("/")[0] for m in re.findall(r'"?\.pr/[^ "]*', scripts)} <= {'".pr', ".pr"}
    assert all(re.search(r'--config "?\.pr/', line) for line in scripts.splitlines() if ".pr/" in line)
    assert "comm -12" in scripts  # only targets declared identically on the default branch
    assert '--expect-head-sha "$HEAD_SHA"' in scripts


def test_apply_is_serialised_per_target_never_cancelled_and_only_applies_the_head_of_main() -> None:
    job = load(WORKFLOWS_DIR / "reconciler-apply.yml")["jobs"]["apply"]
    assert job["concurrency"] == {"group": "apply-${{ matrix.target }}", "cancel-in-progress": False}
    assert job["environment"] == "${{ matrix.target }}"
    assert job["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "read"}
    names = [step.get("name") for step in job["steps"]]
    check = names.index("Refuse unless this commit is still the head of the branch")
    assert names.index("Refuse a merge that lacked a guardrail approval") < check
    apply = names.index("Apply (blocks first) and verify")
    assert check == apply - 1, "check right before applying (an environment's reviewers may hold the job for hours)"
    assert job["steps"][check]["env"]["SHA"] == "${{ github.sha }}"
    assert job["steps"][apply]["env"]["SHA"] == "${{ github.sha }}"
    assert '--revision "$SHA"' in job["steps"][apply]["run"]
    for side, name, text in ALL:
        if name == "apply.yml":
            assert parse(text)["jobs"]["apply"]["with"]["branch"] == "main", side


def test_actionlint_passes_on_every_workflow() -> None:
    """The same check CI runs (.ci/run); actionlint comes with the test extras. The scaffolded
    side: tests/github/test_scaffold_workflow_steps.py."""
    actionlint = shutil.which("actionlint")
    assert actionlint, "actionlint is missing: pip install -e '.[test]'"
    result = subprocess.run([actionlint, *map(str, WORKFLOWS)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_fork_pull_requests_plan_against_a_committed_snapshot_in_step_with_main() -> None:
    """plan.yml's sandbox snapshot exists, loads, and holds the state main's policy describes, so a
    fork's comment shows only what the fork changes."""
    snapshot = REPO / load(WORKFLOWS_DIR / "plan.yml")["jobs"]["plan"]["with"]["sandbox-snapshot"]
    assert snapshot.is_file(), f"{snapshot} is missing: see docs/github.md, 'The sandbox snapshot'"
    code = main(["plan", "--config", str(REPO / "config"), "--sandbox", str(snapshot), "--detailed-exitcode"])
    assert code == 0, f"{snapshot} no longer matches config/: regenerate it (docs/github.md, 'The sandbox snapshot')"


def test_a_failed_plan_still_replaces_the_sticky_comment() -> None:
    """A reviewer must never read the previous push's plan as if it described the current one."""
    comment = load(WORKFLOWS_DIR / "reconciler-plan.yml")["jobs"]["comment"]
    assert comment["needs"] == ["validate", "plan"] and comment["if"] == "${{ !cancelled() }}"
    render_step = next(step for step in comment["steps"] if step.get("name") == "Render the comment")
    assert "No plan for commit" in render_step["run"]


@pytest.mark.parametrize(("side", "text"), [("repo", (WORKFLOWS_DIR / "plan.yml").read_text(encoding="utf-8")),
                                            ("scaffold", SCAFFOLD["plan.yml"])], ids=["repo", "scaffold"])
def test_reviews_re_evaluate_the_guardrails_with_the_base_branchs_rules(side: str, text: str) -> None:
    """An approval or a dismissal re-runs the plan workflow, whose statuses use the base's guardrails."""
    caller = parse(text)
    assert caller["on"]["pull_request_review"] == {"types": ["submitted", "dismissed"]}
    assert caller["jobs"]["plan"]["permissions"]["statuses"] == "write"
    comment = load(WORKFLOWS_DIR / "reconciler-plan.yml")["jobs"]["comment"]
    steps = {step.get("name"): step for step in comment["steps"]}
    base = steps["Check out the base branch's guardrails (the rules that judge this pull request)"]
    assert base["with"]["ref"] == "${{ github.event.pull_request.base.sha }}" and base["with"]["path"] == ".base"
    names = list(steps)
    guardrails = "Guardrails (approvals on the head commit, commit statuses)"
    assert names.index(guardrails) < names.index("Render the comment")
    assert 'rails=".base/$CONFIG/guardrails.yaml"' in steps[guardrails]["run"]
    assert steps[guardrails]["env"]["HEAD_SHA"] == "${{ github.event.pull_request.head.sha }}"
    assert "--verdicts comment/verdicts.json" in steps["Render the comment"]["run"]
