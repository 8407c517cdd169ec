"""The policy revision last applied to a target, recorded in the account: stale applies are refused.

An older apply must never revert a newer one (a re-run of an old workflow run, or two merges whose
jobs finish out of order, would lift a newer emergency block). Each apply records the git commit
it applied and that commit's time; the next apply of the same target refuses a revision that is
an ancestor of the recorded one or older than it, unless ``--force``.

Where: a tag on the account's ``Default`` opt-out list. The record must live in the target itself
(account × Region: a second runner, CI or a laptop, sees the same record) and survive every
policy change. ``Default`` exists in every account and Region and cannot be deleted (user guide,
"Opt-out lists": every account has a default list), unlike a protect configuration or a list the
policy may delete, and it is taggable like every sms-voice ARN. The opt-out area never writes tags
on ``Default``, so the tag belongs to this record alone. Value: ``<40-hex sha>@<unix seconds>``.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from reconciler.aws import SMS_VOICE, Api
from reconciler.cli import UserError

REVISION_TAG = "reconciler:applied-revision"
DEFAULT_LIST = "Default"
_VALUE = re.compile(r"([0-9a-f]{7,40})@([0-9]{1,12})")


@dataclass(frozen=True)
class Revision:
    sha: str
    time: int  # the commit's time, unix seconds

    def encode(self) -> str:
        return f"{self.sha}@{self.time}"

    @classmethod
    def decode(cls, value: str | None) -> Revision | None:
        match = _VALUE.fullmatch((value or "").strip())
        return cls(match.group(1), int(match.group(2))) if match else None


class StaleRevision(UserError):
    """The revision being applied is older than the one the account records."""


def _git(directory: str, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", directory, *args], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def resolve(config_dir: str, given: str | None) -> Revision | None:
    """``--revision SHA`` (default: HEAD of the config directory's repository) with its commit time;
    None outside a git checkout when no revision is given (nothing is recorded or checked)."""
    directory = str(Path(config_dir).resolve())
    if not Path(directory).is_dir():
        directory = str(Path(directory).parent)
    ref = given or "HEAD"
    sha = _git(directory, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if sha is None:
        if given is None:
            return None
        raise UserError(f"--revision {given}: not a commit of the repository at {directory}",
                        hint="pass a commit the checkout has (fetch it first), or omit --revision to use HEAD")
    time = _git(directory, "show", "-s", "--format=%ct", sha)
    return Revision(sha, int(time or 0))


def is_ancestor(config_dir: str, older: str, newer: str) -> bool:
    directory = str(Path(config_dir).resolve())
    try:
        done = subprocess.run(["git", "-C", directory, "merge-base", "--is-ancestor", older, newer],
                              capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _default_list_arn(api: Api) -> str:
    answer = api.call(SMS_VOICE, "DescribeOptOutLists", OptOutListNames=[DEFAULT_LIST])
    return str(answer["OptOutLists"][0]["OptOutListArn"])


def recorded(api: Api) -> tuple[str, Revision | None]:
    """The Default list's ARN and the revision its tag records."""
    arn = _default_list_arn(api)
    tags = api.call(SMS_VOICE, "ListTagsForResource", ResourceArn=arn).get("Tags", [])
    return arn, Revision.decode(next((t["Value"] for t in tags if t["Key"] == REVISION_TAG), None))


def check(target: str, config_dir: str, applying: Revision, last: Revision | None, force: bool) -> None:
    """Refuse ``applying`` when it is an ancestor of, or older than, the revision last applied."""
    if last is None or last.sha == applying.sha or force:
        return
    why = None
    if is_ancestor(config_dir, applying.sha, last.sha):
        why = "is an ancestor of"
    elif applying.time < last.time:
        why = "is older than"
    if why:
        raise StaleRevision(
            f"target {target}: refusing to apply revision {applying.sha[:12]}: it {why} revision {last.sha[:12]}, "
            "which an apply already put in force; applying it would revert newer changes (e.g. lift a newer "
            "emergency block); nothing was changed",
            hint="apply the newest revision of main instead, or pass --force if reverting is intended",
        )


def record(api: Api, arn: str, applied: Revision) -> None:
    api.call(SMS_VOICE, "TagResource", ResourceArn=arn, Tags=[{"Key": REVISION_TAG, "Value": applied.encode()}])


__all__ = ["REVISION_TAG", "Revision", "StaleRevision", "check", "record", "recorded", "resolve"]
