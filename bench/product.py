"""The product, run through its command line (``reconciler.cli.main``) against the benchmark sandbox.

Every scenario calls the real commands (``plan``, ``apply``, ``block``, ``import``, ``drift``) with
their real arguments; output is captured, exit codes are checked. Two pieces of plumbing are
redirected inside the measured (forked) process only:

* ``--sandbox`` opens the benchmark's in-memory sandbox instead of a snapshot file (a million-number
  snapshot would cost more to load than the scenario);
* the engine's client-side rate limiter, retry sleeps and concurrent reads run on the sandbox's
  simulated clock (``Engine(clock=..., sleep=...)``), with AWS's quotas (``rate_scale=1``).
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import reconciler.options as options_module
from bench import world
from bench.measure import Context
from reconciler.cli import build_parser, main
from reconciler.engine import Engine
from reconciler.sandbox.state import Clock

BLOCK_COUNTRY = "GH"  # blocked by no generated configuration: every (configuration, capability) changes
UPDATE_RULES = "UpdateProtectConfigurationCountryRuleSet"
ORIGINAL_ENGINE = Engine
ORIGINAL_OPEN_SANDBOX = options_module.open_sandbox


class BenchEngine(ORIGINAL_ENGINE):  # type: ignore[misc, valid-type]
    """The engine with AWS's quotas client-side and every wait on the simulated clock."""

    sim_clock: ClassVar[Clock]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["rate_scale"] = 1.0
        kwargs["sleep"] = self.sim_clock.sleep
        kwargs["clock"] = self.sim_clock.now
        super().__init__(*args, **kwargs)
        self.wall = self.sim_clock.now  # the simulated clock is unix time: CloudTrail's event times


def attach(context: Context) -> None:
    """Point the CLI's sandbox and engine plumbing at ``context`` (in the measured process only).

    Every loaded ``reconciler`` module that bound ``open_sandbox`` or ``Engine`` gets the redirected
    one, so commands keep working whichever module they import them from."""
    BenchEngine.sim_clock = context.clock
    build_parser()  # import every command module first

    def open_sandbox(snapshot: str, policy: Any) -> Any:
        return context.sandbox

    for name, module in list(sys.modules.items()):
        if not name.startswith("reconciler") or module is None:
            continue
        if getattr(module, "open_sandbox", None) is ORIGINAL_OPEN_SANDBOX:
            module.open_sandbox = open_sandbox  # type: ignore[attr-defined]
        if getattr(module, "Engine", None) is ORIGINAL_ENGINE:
            module.Engine = BenchEngine  # type: ignore[attr-defined]


def cli(context: Context, *argv: str, ok: Sequence[int] = (0,)) -> str:
    """Run ``reconciler ARGV…``; its stdout, or an error naming the exit code and the output's tail."""
    attach(context)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    if code not in ok:
        errors = [line for line in err.getvalue().splitlines() if line.startswith(("error", "hint"))]
        tail = "\n".join([*out.getvalue().splitlines()[-15:], *errors])[-2500:]
        raise RuntimeError(f"`reconciler {' '.join(argv[:1])}` exited {code}: {tail}")
    return out.getvalue()


def _sandboxed(directory: Path) -> list[str]:
    # The builtin marker: the redirected open_sandbox ignores it, and nothing is saved back to a file.
    return ["--config", str(directory), "--sandbox"]


def _note_plan(context: Context, output: str) -> None:
    """The plan's summary line and how it read each area (the cost model's choices)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    context.notes.extend(line[:300] for line in lines[:1])
    context.notes.extend(line[:300] for line in lines if line.startswith("read "))


def plan(context: Context, directory: Path) -> None:
    output = cli(context, "plan", *_sandboxed(directory), "--detailed-exitcode", ok=(0, 2))
    _note_plan(context, output)


def apply(context: Context, directory: Path) -> None:
    output = cli(context, "apply", *_sandboxed(directory), "--auto-approve")
    context.notes.extend(line[:200] for line in output.splitlines()[:1])


def s1_plan(context: Context) -> None:
    plan(context, context.policy_dir)


def pull_request(context: Context) -> Path:
    """A copy of the policy whose large list's numbers file gains the S2 numbers, committed."""
    directory = world.copy_policy(context.policy_dir, context.workdir / "policy")
    path = world.numbers_file(directory, "large-list")
    added = context.facts["pr_numbers"]
    with path.open("a", encoding="utf-8") as handle:
        handle.writelines(f"{number}\n" for number in added)
    world.commit_policy(directory, f"add {len(added)} opted-out numbers")
    return directory


def s2_plan_apply(context: Context) -> None:
    directory = pull_request(context)
    plan(context, directory)
    context.marks["plan_done"] = context.clock.latest()
    apply(context, directory)


def emergency_copy(context: Context) -> Path:
    directory = world.copy_policy(context.policy_dir, context.workdir / "policy")
    cli(context, "block", BLOCK_COUNTRY, "--reason", "benchmark S3", "--config", str(directory))
    return directory


# What the block phase calls: the account check, the protect operations, and tag reads and writes
# of protect configurations. Calls before the last block that other areas make for the rest of the
# apply (numbers, pools, shares, lists: other quotas) are counted apart, in "other_calls_until_last_block".
BLOCK_PHASE_OPERATIONS = frozenset({
    "GetCallerIdentity", "DescribeProtectConfigurations", "DescribeConfigurationSets",
    "GetProtectConfigurationCountryRuleSet", "ListProtectConfigurationRuleSetNumberOverrides", UPDATE_RULES,
    "PutProtectConfigurationRuleSetNumberOverride",
})
TAG_OPERATIONS = frozenset({"ListTagsForResource", "TagResource", "UntagResource"})


def block_phase_call(call: Any) -> bool:
    if call.operation in BLOCK_PHASE_OPERATIONS:
        return True
    return call.operation in TAG_OPERATIONS and ":protect-configuration/" in (call.resource or "")


def mark_last_block(context: Context) -> None:
    times = [c.time for c in context.sandbox.calls if c.operation == UPDATE_RULES and c.error is None]
    if times:
        last = max(times)
        context.marks["last_block"] = last
        before = [c for c in context.sandbox.calls if c.time <= last]
        context.metrics["calls_until_last_block"] = sum(1 for c in before if block_phase_call(c))
        context.metrics["other_calls_until_last_block"] = sum(1 for c in before if not block_phase_call(c))
    context.notes.append(f"{len(times)} {UPDATE_RULES} call(s)")


def s3_block(context: Context) -> None:
    directory = emergency_copy(context)
    apply(context, directory)
    mark_last_block(context)


def s4_apply(context: Context) -> None:
    apply(context, world.copy_policy(world.EXAMPLE_POLICY, context.workdir / "example"))


def import_into(context: Context, out: Path) -> None:
    cli(context, "import", "--out", str(out), "--account", world.LARGE_ACCOUNT, "--region", world.REGION,
        "--name", world.TARGET, "--sandbox")


def s4_import(context: Context) -> None:
    import_into(context, context.workdir / "imported")


def s5_drift(context: Context) -> None:
    output = cli(context, "drift", *_sandboxed(context.policy_dir), ok=(0, 2))
    context.notes.extend(line[:200] for line in output.splitlines()[:1])


def s5_share(context: Context) -> None:
    """S5 leaving half of every quota to the account's applications."""
    output = cli(context, "drift", *_sandboxed(context.policy_dir), "--quota-share", "0.5", ok=(0, 2))
    context.notes.extend(line[:200] for line in output.splitlines()[:1])


# S6: the nightly incremental drift -----------------------------------------------------------------


def _with_plan_key() -> None:
    import os

    from reconciler.fingerprint import PLAN_KEY_ENV

    os.environ.setdefault(PLAN_KEY_ENV, "benchmark plan key")  # seals the baseline, as in the workflow


def make_baseline(context: Context, directory: Path) -> None:
    """The weekly full drift that leaves the baseline in ``directory`` (the workflow's cache)."""
    _with_plan_key()
    output = cli(context, "drift", *_sandboxed(context.policy_dir), "--checkpoint", str(directory), "--full",
                 "--format", "json", ok=(0, 2))
    if '"baseline_saved": true' not in output:
        raise RuntimeError("the full drift saved no baseline")


def out_of_git_writes(context: Context, writes: Sequence[tuple[str, str, str]], start: float) -> None:
    """The console writes since the last full read, one every ten minutes from ``start``, through
    the sandbox's API (CloudTrail records each one)."""
    client = context.sandbox.session(world.LARGE_ACCOUNT, world.REGION).client("pinpoint-sms-voice-v2")
    clock = context.clock
    clock.advance(max(0.0, start - clock.now()))
    for operation, name, number in writes:
        if operation == "PutOptedOutNumber":
            client.put_opted_out_number(OptOutListName=name, OptedOutNumber=number)
        else:
            client.delete_opted_out_number(OptOutListName=name, OptedOutNumber=number)
        clock.advance(600.0)


def s6_drift(context: Context) -> None:
    import shutil

    _with_plan_key()
    directory = context.workdir / "checkpoint"
    shutil.copytree(Path(context.facts["s6_baseline"]), directory)  # each run starts from the same baseline
    output = cli(context, "drift", *_sandboxed(context.policy_dir), "--checkpoint", str(directory), ok=(0, 2))
    context.notes.extend(line[:300] for line in output.splitlines()[:1])
    context.notes.extend(line.strip()[:400] for line in output.splitlines() if "drift" in line and "from the full read" in line)
