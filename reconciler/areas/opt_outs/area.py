"""Opt-out lists and their membership.

Policy: ``OptOutListSpec(name, mode, numbers)``. Missing lists are created (at most 25 per account,
``Default`` included); lists the policy does not name are reported, and deleted only with
``prune: [opt_outs]`` (never ``Default``). Membership:

* ``additive``: every listed number must be on the list; other entries are left alone.
* ``exact``: entries the policy does not list are removed too, **except end-user opt-outs**
  (``EndUserOptedOut: true``, a recipient who replied STOP): those are never removed in any mode
  and are reported as "kept: end-user opt-out".

Reading a list is the expensive part of a plan (1 request/s, 100 entries a page), so how each list
is read is chosen by :mod:`reconciler.costs`. After an apply that added numbers to an additive list,
the list carries a *watermark* tag: the count and SHA-256 digest of the numbers the policy listed.
A later plan whose list of numbers has the same digest needs no reads at all. A plan whose list
only grew since then finds the version the watermark records in git (:class:`GitBaseline`: the
``numbers_file`` at an earlier commit with the same digest) and writes just the new numbers
through, unread ("up to N additions (unverified)"): a pull request adding 1,000 numbers to a
million-number list plans with no list reads and applies in ~100 s. Without such a version the
list is verified by reading (so an imported policy plans to zero changes).
``drift`` trusts no watermark and verifies. A number the watermark vouches for that someone deleted
by hand is therefore found by ``drift``, not by ``plan``: the documented price of fast plans.

Personal data: numbers appear in changes only masked (``key``/``before``/``after``); the raw number
travels in ``Change.secret`` (memory only), and so does the watermark's digest (a digest of a few
numbers could be brute-forced).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeGuard

import structlog
from botocore.exceptions import BotoCoreError, ClientError

from reconciler import costs
from reconciler.areas.base import ApiOperation, Area, register, sms
from reconciler.areas.opt_outs.carry import FLAG_DROPS_END_USER, apply_carry, carried, follow_identities
from reconciler.areas.opt_outs.policy import SECTION
from reconciler.areas.opt_outs.spec import OptOutListSpec
from reconciler.aws import Api, error_code
from reconciler.checkpoint import SAVE_EVERY, Checkpoints, ReadState
from reconciler.cli import UserError
from reconciler.config.model import Desired
from reconciler.costs import Command, Strategy
from reconciler.plan import (
    FLAG_BLOCKED,
    ORDER_CREATE,
    ORDER_DELETE,
    ORDER_MEMBERS_ADD,
    ORDER_MEMBERS_REMOVE,
    Change,
)
from reconciler.report.area_report import AreaReport
from reconciler.report.mask import mask_number, mask_text, unique_masks

log = structlog.get_logger("reconciler.opt_outs")

AREA = "opt_outs"
SMS_VOICE = "pinpoint-sms-voice-v2"
DEFAULT_LIST = "Default"
MAX_LISTS = 25  # per account and Region, Default included (AWS quota)
WATERMARK_TAG = "reconciler:opt-out-watermark"
# Runs after the additions of its list (ORDER_MEMBERS_ADD) and before anything else is linked.
ORDER_WATERMARK = ORDER_MEMBERS_ADD + 5
KEPT_SAMPLE = 10  # masked examples shown per list in the "kept: end-user opt-out" warning

# Where the numbers an earlier policy listed come from: given a list spec and the live watermark,
# the sorted numbers of the policy version the watermark records, or None.
BaselineFinder = Callable[[OptOutListSpec, "Watermark"], Sequence[str] | None]


def numbers_digest(numbers: Iterable[str]) -> str:
    """SHA-256 of the sorted, de-duplicated numbers, one per line (stable across runs)."""
    ordered = numbers if _strictly_sorted(numbers) else sorted(set(numbers))
    return hashlib.sha256(("\n".join(ordered) + "\n").encode() if ordered else b"").hexdigest()


def _strictly_sorted(numbers: Iterable[str]) -> TypeGuard[Sequence[str]]:
    """Policy numbers arrive sorted and unique: checking that is ~10x cheaper than sorting again."""
    if not isinstance(numbers, tuple | list):
        return False
    return all(a < b for a, b in pairwise(numbers))


@dataclass(frozen=True)
class Watermark:
    """What the last apply wrote to an additive list, kept in a tag on the list."""

    count: int  # numbers the policy listed
    digest: str  # numbers_digest of them
    live_count: int | None = None  # entries on the list after that apply, if known (a cost hint)

    def encode(self) -> str:
        live = "" if self.live_count is None else str(self.live_count)
        return f"v1;count={self.count};live={live};sha256={self.digest}"

    @staticmethod
    def parse(value: str) -> Watermark | None:
        """The watermark in a tag value; ``None`` for anything malformed (treated as no watermark)."""
        fields = dict(part.partition("=")[::2] for part in value.split(";")[1:])
        if not value.startswith("v1;"):
            return None
        try:
            count = int(fields["count"])
            live = int(fields["live"]) if fields.get("live") else None
        except (KeyError, ValueError):
            return None
        digest = fields.get("sha256", "")
        if len(digest) != 64:
            return None
        return Watermark(count, digest, live)


@dataclass
class LiveList:
    """What the chosen strategy learnt about one live list."""

    name: str
    arn: str
    strategy: Strategy
    watermark: Watermark | None = None
    complete: bool = False  # every entry was read
    entry_count: int | None = None  # entries on the list (when complete)
    present: frozenset[str] = frozenset()  # numbers known to be on the list (all entries when complete)
    end_user: frozenset[str] = frozenset()  # seen entries with EndUserOptedOut true
    unverified: tuple[str, ...] = ()  # write-through: listed numbers not known to be present
    carried: frozenset[str] = frozenset()  # unlisted entries of an exact list that were carried in (kept)
    calls: int = 0  # DescribeOptedOutNumbers calls made


@dataclass
class LiveOptOuts:
    lists: dict[str, str] = field(default_factory=dict)  # every live list: name -> ARN
    read: dict[str, LiveList] = field(default_factory=dict)  # lists the policy names that exist
    # End-user opt-outs read for carrying (reconciler/areas/opt_outs/carry.py): list -> numbers.
    end_user_read: dict[str, frozenset[str]] = field(default_factory=dict)


@register
class OptOutsArea(Area):
    section = SECTION
    resource_types = frozenset({"carried-opt-outs", "opt-out-list", "opt-out-list-watermark", "opted-out-number"})
    report = AreaReport(title="Opt-out lists", order=30,
                        member_groups={"opted-out-number": ("number", {"add": "to", "remove": "from"})})
    internal_types = frozenset({"opt-out-list-watermark"})
    guarded_additions = frozenset({"opted-out-number"})
    end_user_drop_flags = frozenset({FLAG_DROPS_END_USER})  # a list deleted with STOP replies on it (carry.py)
    name: ClassVar[str] = AREA
    read_order: ClassVar[int] = 90  # the most expensive reads last: never in the way of blocks
    operations: ClassVar[tuple[ApiOperation, ...]] = (
        sms("DescribeOptOutLists"),
        sms("DescribeOptedOutNumbers"),
        sms("ListTagsForResource"),
        sms("CreateOptOutList", mode="write"),
        sms("DeleteOptOutList", mode="write"),
        sms("PutOptedOutNumber", 10.0, "write"),
        sms("DeleteOptedOutNumber", 10.0, "write"),
        sms("TagResource", mode="write"),
    )

    def __init__(self, command: Command = "plan", baseline: BaselineFinder | None = None) -> None:
        # The command decides what the cost model may trust: drift verifies, import reads all.
        # The engine sets ``area.command = "drift"`` for drift.
        self.command: Command = command
        self.baseline: BaselineFinder = baseline if baseline is not None else GitBaseline()
        self._arns: dict[str, str] = {}  # lists created during this run
        # Set by a full drift that keeps a baseline: every entry of each list read whole, by name.
        self.entries: dict[str, frozenset[str]] | None = None

    # Reading --------------------------------------------------------------------------------

    def manages(self, desired: Desired) -> bool:
        # An identity the policy moves to a list takes that list's end-user opt-outs along (carry).
        moves = any(spec.opt_out_list for spec in desired.phone_numbers) or any(
            spec.opt_out_list for spec in desired.pools
        )
        return bool(desired.opt_out_lists) or AREA in desired.prune or moves

    # After an apply: no identity may reach an end-user opt-out it refused before.
    effects_failure: ClassVar[Literal["not_in_force", "opt_outs_reachable"]] = "opt_outs_reachable"

    def verify_effects(self, api: Api, desired: Desired, lives: Mapping[str, Any], fresh: Mapping[str, Any]) -> list[str]:
        """No identity may reach, after the apply, an end-user opt-out it refused before (the carry
        verified on a fresh read, verify.py); an AWS error while checking is a problem too."""
        from reconciler.areas.opt_outs.verify import reachable_again  # verify.py imports this module

        try:
            return reachable_again(api, lives, fresh)
        except (ClientError, BotoCoreError) as error:
            return [f"end-user opt-outs could not be verified: {mask_text(str(error))}"]

    def with_other_areas(self, api: Api, desired: Desired, lives: dict[str, Any], changes: list[Change]) -> list[Change]:
        """End-user opt-outs follow identities that move to another list or lose theirs."""
        live = lives.get(AREA)
        if not isinstance(live, LiveOptOuts):
            return changes
        return follow_identities(api, live, lives.get("phone_numbers"), changes)

    def read(self, api: Api, desired: Desired) -> LiveOptOuts:
        live = LiveOptOuts(lists=list_opt_out_lists(api))
        for spec in sorted(desired.opt_out_lists, key=lambda s: s.name):
            arn = live.lists.get(spec.name)
            if arn is not None:
                live.read[spec.name] = self._read_list(api, spec, arn)
                if self.early_changes is not None:
                    # Opting numbers out is protective and needs nothing else: written while the
                    # other lists (and areas) are still read. The watermark waits for the full plan.
                    additions = [c for c in self._membership(spec, live.read[spec.name]) if c.action == "add"]
                    self.early_changes(additions)
        return live

    def read_everything(self, api: Api) -> LiveOptOuts:
        """Every list with every entry (for ``import``)."""
        live = LiveOptOuts(lists=list_opt_out_lists(api))
        for name, arn in sorted(live.lists.items()):
            strategy = Strategy("read-all", 0, 0, "import reads every entry")
            live.read[name] = read_all(api, name, arn, strategy, listed=None)
        return live

    def _read_list(self, api: Api, spec: OptOutListSpec, arn: str) -> LiveList:
        watermark = None
        if spec.mode == "additive":
            watermark = read_watermark(api, arn)
        listed = spec.numbers
        delta: Sequence[str] | None = None
        if watermark is not None and self.command in ("plan", "apply"):
            delta = self._delta(spec, watermark)
        strategy = costs.choose(
            spec.mode,
            self.command,
            len(listed),
            watermark.live_count if watermark else None,
            None if delta is None else len(delta),
        )
        if strategy.kind == "watermark":
            return LiveList(spec.name, arn, strategy, watermark)
        if strategy.kind == "write-through":
            return LiveList(spec.name, arn, strategy, watermark, unverified=tuple(delta or ()))
        if strategy.kind == "none":
            return LiveList(spec.name, arn, strategy, watermark)
        if strategy.kind == "read-all":
            # The drift baseline keeps every entry of a list read whole (reconciler/drift_feed).
            keep_all = self.entries is not None
            result = read_all(
                api, spec.name, arn, strategy, listed=None if spec.mode == "exact" or keep_all else listed,
                checkpoint=self.checkpoint, scope=self._scope(spec, arn) + ("|all" if keep_all else ""),
                expected_entries=watermark.live_count if watermark else None,
            )
            if self.entries is not None:
                self.entries[spec.name] = result.present
                if spec.mode != "exact":
                    result.present = result.present & frozenset(listed)
        elif strategy.kind == "lookup":
            result = lookup(api, spec.name, arn, strategy, listed)
        else:
            result = probe(api, spec.name, arn, strategy, listed)
        result.watermark = watermark
        if spec.mode == "exact" and result.complete:
            # Entries carried in for identities that moved here are never removed (opt_out_carry).
            extra = result.present - frozenset(spec.numbers) - result.end_user
            if extra:
                result.carried = carried(api, spec.name, arn, sorted(extra))
        return result

    def _scope(self, spec: OptOutListSpec, arn: str) -> str:
        """What a saved read is valid for: this command, list, ARN, mode and listed numbers."""
        return f"{self.command}|{arn}|{spec.mode}|{numbers_digest(spec.numbers)}"

    def _delta(self, spec: OptOutListSpec, watermark: Watermark) -> Sequence[str] | None:
        """Listed numbers the watermark does not vouch for; ``None`` if it vouches for nothing known."""
        if watermark.count == len(spec.numbers) and watermark.digest == numbers_digest(spec.numbers):
            return ()
        base = self.baseline(spec, watermark)
        if base is None:
            return None
        known = set(base)
        return [number for number in spec.numbers if number not in known]

    # Diffing --------------------------------------------------------------------------------

    def diff(self, desired: Desired, live: LiveOptOuts) -> list[Change]:
        changes: list[Change] = []
        named = {spec.name for spec in desired.opt_out_lists}
        deleted = self._deletions(desired, live)
        changes.extend(deleted)
        total = len(set(live.lists) | named) - len(deleted)
        creating = sorted(named - set(live.lists))
        room = MAX_LISTS - (total - len(creating))
        for spec in sorted(desired.opt_out_lists, key=lambda s: s.name):
            if spec.name not in live.lists:
                blocked = creating.index(spec.name) >= room
                changes.extend(self._new_list(spec, blocked, total))
            else:
                changes.extend(self._membership(spec, live.read[spec.name]))
        return changes

    def _deletions(self, desired: Desired, live: LiveOptOuts) -> list[Change]:
        if AREA not in desired.prune:
            return []
        named = {spec.name for spec in desired.opt_out_lists}
        return [
            Change(
                AREA,
                "delete",
                "opt-out-list",
                f"{AREA}/{name}",
                before={"name": name},
                order=ORDER_DELETE,
                flags=frozenset({"deletion"}),
                data={"list": name},
                summary=f"delete opt-out list {name} (not in the policy; prune)",
            )
            for name in sorted(set(live.lists) - named - {DEFAULT_LIST})
        ]

    def _new_list(self, spec: OptOutListSpec, blocked: bool, total: int) -> list[Change]:
        flags: frozenset[str] = frozenset()
        data: dict[str, Any] = {"list": spec.name}
        if blocked:
            flags = frozenset({FLAG_BLOCKED})
            data["reason"] = (
                f"the policy needs {total} opt-out lists in this account but AWS allows {MAX_LISTS} "
                f"(Default included); remove lists from the policy or prune unused ones"
                + (f" ({spec.source})" if spec.source else "")
            )
        changes = [
            Change(
                AREA,
                "create",
                "opt-out-list",
                f"{AREA}/{spec.name}",
                after={"name": spec.name, "mode": spec.mode, "numbers": len(spec.numbers)},
                order=ORDER_CREATE,
                flags=flags,
                data=data,
                summary=f"create opt-out list {spec.name} ({spec.mode}, {len(spec.numbers)} number{'' if len(spec.numbers) == 1 else 's'})",
            )
        ]
        changes.extend(_additions(spec.name, sorted(set(spec.numbers)), True, unique_masks(spec.numbers)))
        if spec.mode == "additive" and spec.numbers:
            changes.append(_watermark_change(spec, live_count=len(spec.numbers)))
        return changes

    def _membership(self, spec: OptOutListSpec, live: LiveList) -> list[Change]:
        if live.strategy.kind in ("watermark", "none"):
            return []
        # Set arithmetic on str runs in C: a million-number list diffs in well under a second.
        listed = frozenset(spec.numbers)
        if live.strategy.kind == "write-through":
            missing: Sequence[str] = sorted(set(live.unverified))
        else:
            missing = sorted(listed - live.present)
        extra: list[str] = []
        if spec.mode == "exact" and live.complete:
            extra = sorted(live.present - listed - live.end_user - live.carried)
        # One labelling per list, so an added and a removed number never share a key.
        labels = unique_masks([*missing, *extra])
        changes = _additions(spec.name, missing, live.strategy.kind != "write-through", labels)
        changes.extend(_removals(spec.name, extra, labels))
        if spec.mode == "additive" and changes:
            base = live.entry_count if live.complete else (live.watermark.live_count if live.watermark else None)
            changes.append(_watermark_change(spec, None if base is None else base + len(missing)))
        return changes

    # Reporting ------------------------------------------------------------------------------

    def verification_scope(self, desired: Desired, applied: list[Change]) -> Desired:
        """Only the lists ``applied`` touched: re-reading the watermark (or entries) of a list
        nothing was written to costs a call at 1/s and proves nothing. A deletion needs the whole
        account's lists seen again, so then everything is verified."""
        if any(change.action == "delete" for change in applied):
            return desired
        touched = {str(change.data.get("list")) for change in applied}
        kept = tuple(spec for spec in desired.opt_out_lists if spec.name in touched)
        return dataclasses.replace(desired, opt_out_lists=kept, prune=desired.prune - {AREA})

    def strategy(self, desired: Desired, live: LiveOptOuts) -> str:
        parts = [
            f"{name}: {item.strategy.describe()}; {item.strategy.made(item.calls, item.complete)}"
            for name, item in sorted(live.read.items())
        ]
        new = sorted({s.name for s in desired.opt_out_lists} - set(live.lists))
        parts.extend(f"{name}: none (list does not exist yet)" for name in new)
        return "; ".join(parts)

    def strategies(self, live: LiveOptOuts) -> dict[str, str]:
        """Per-list strategies, keyed ``opt_outs/<list>``, for ``Plan.strategies``."""
        return {f"{AREA}/{name}": item.strategy.describe() for name, item in sorted(live.read.items())}

    def warnings(self, desired: Desired, live: LiveOptOuts) -> list[str]:
        notes: list[str] = []
        for spec in sorted(desired.opt_out_lists, key=lambda s: s.name):
            item = live.read.get(spec.name)
            if item is None or spec.mode != "exact" or not item.complete:
                continue
            listed = set(spec.numbers)
            kept = sorted(n for n in item.end_user if n not in listed)
            if item.carried:
                notes.append(f"{AREA}/{spec.name}: kept: {len(item.carried)} carried end-user opt-out(s) not in the "
                             "policy are never removed")
            if kept:
                sample = ", ".join(mask_number(n) for n in kept[:KEPT_SAMPLE])
                more = f" and {len(kept) - KEPT_SAMPLE} more" if len(kept) > KEPT_SAMPLE else ""
                notes.append(
                    f"{AREA}/{spec.name}: kept: end-user opt-out: {len(kept)} number(s) not in the policy "
                    f"are never removed ({sample}{more})"
                )
        return notes

    def unmanaged(self, desired: Desired, live: LiveOptOuts) -> list[dict[str, Any]]:
        if AREA in desired.prune:
            return []
        named = {spec.name for spec in desired.opt_out_lists}
        return [
            {"area": AREA, "type": "opt-out-list", "id": arn, "name": name}
            for name, arn in sorted(live.lists.items())
            if name not in named and name != DEFAULT_LIST
        ]

    def scope_sizes(self, desired: Desired, live: LiveOptOuts) -> dict[str, int]:
        sizes: dict[str, int] = {}
        for name, item in sorted(live.read.items()):
            count = item.entry_count if item.complete else (item.watermark.live_count if item.watermark else None)
            if count is not None:
                sizes[f"{AREA}/{name}"] = count
        return sizes

    def fingerprint_data(self, live: LiveOptOuts) -> Any:
        """Digests instead of numbers: small, and free of personal data."""
        return {
            "lists": dict(sorted(live.lists.items())),
            "read": {
                name: {
                    "strategy": item.strategy.kind,
                    "watermark": item.watermark.encode() if item.watermark else None,
                    "complete": item.complete,
                    "present": numbers_digest(item.present),
                    "end_user": numbers_digest(item.end_user),
                    "carried": numbers_digest(item.carried),
                    "unverified": numbers_digest(item.unverified),
                }
                for name, item in sorted(live.read.items())
            },
        }

    # Applying -------------------------------------------------------------------------------

    def apply(self, api: Api, change: Change) -> None:
        name = str(change.data["list"])
        if change.resource_type == "opt-out-list":
            if change.action == "create":
                self._create(api, name)
            elif change.action == "delete":
                _ignore(api, "DeleteOptOutList", {"ResourceNotFoundException"}, OptOutListName=name)
            return
        if change.resource_type == "carried-opt-outs":
            apply_carry(api, change, self._arns.get(name) or list_opt_out_lists(api, names=[name]).get(name))
            return
        if change.resource_type == "opt-out-list-watermark":
            arn = self._arns.get(name) or list_opt_out_lists(api, names=[name]).get(name)
            if arn is None:
                raise UserError(f"opt-out list {name} disappeared before its watermark could be written")
            if not change.secret:
                raise UserError(f"{change.key}: the change carries no watermark (plans from files are re-planned first)")
            api.call(SMS_VOICE, "TagResource", ResourceArn=arn, Tags=[{"Key": WATERMARK_TAG, "Value": change.secret}])
            return
        number = change.secret
        if not number:
            raise UserError(f"{change.key}: the change carries no number (plans from files are re-planned first)")
        if change.action == "add":
            api.call(SMS_VOICE, "PutOptedOutNumber", OptOutListName=name, OptedOutNumber=number)
        elif change.action == "remove":
            self._remove(api, name, number)

    def _create(self, api: Api, name: str) -> None:
        try:
            response = api.call(SMS_VOICE, "CreateOptOutList", OptOutListName=name)
            self._arns[name] = str(response["OptOutListArn"])
        except ClientError as error:
            if error_code(error) != "ConflictException":
                raise
            # Already there (a rerun after a crash): converged.

    def _remove(self, api: Api, name: str, number: str) -> None:
        try:
            api.call(SMS_VOICE, "DeleteOptedOutNumber", OptOutListName=name, OptedOutNumber=number)
        except ClientError as error:
            code = error_code(error)
            if code == "ResourceNotFoundException" and _not_found_is_number(error):
                return  # already removed
            message = mask_text(str(error.response.get("Error", {}).get("Message", "")))
            raise UserError(
                f"AWS refused to remove {mask_number(number)} from opt-out list {name}: {code}: {message}",
                hint="AWS lets a number be deleted from a list at most once every 30 days; "
                "keep it in the policy (or use additive mode) and retry after that window",
            ) from None


# Baseline: what the watermark vouches for, from the policy's own history -------------------------


MAX_REVISIONS = 20  # versions of a numbers file searched for the watermark's digest
GIT_TIMEOUT = 60.0


def parse_numbers(text: str) -> set[str]:
    """Numbers of a numbers file's text: one per line, ``#`` comments and blank lines ignored."""
    found: set[str] = set()
    for line in text.splitlines():
        number = line.split("#", 1)[0].strip()
        if number:
            found.add(number)
    return found


class GitBaseline:
    """The numbers an earlier version of the policy listed, found in the numbers file's git history.

    A candidate is the file at a revision plus the list's current inline numbers; it is the baseline
    only if its digest equals the watermark's, so a wrong candidate can never be used. Anything
    unusual (no numbers file, not a git checkout, no git, shallow history) yields ``None`` and the
    list is verified by reading instead.
    """

    def __init__(self, max_revisions: int = MAX_REVISIONS) -> None:
        self.max_revisions = max_revisions

    def __call__(self, spec: OptOutListSpec, watermark: Watermark) -> Sequence[str] | None:
        if not spec.numbers_file or spec.source is None:
            return None
        path = Path(spec.source.file).parent / spec.numbers_file
        try:
            top = Path(self._git(path.parent, "rev-parse", "--show-toplevel").strip())
            relative = path.resolve().relative_to(top.resolve()).as_posix()
            revisions = self._git(top, "log", f"-n{self.max_revisions}", "--format=%H", "--", relative).split()
            # Parsed once: inside the comprehension the file was re-read per number (quadratic).
            in_file = parse_numbers(path.read_text(encoding="utf-8-sig"))
            inline = [n for n in spec.numbers if n not in in_file]
            for revision in revisions:
                candidate = parse_numbers(self._git(top, "show", f"{revision}:{relative}"))
                candidate.update(inline)
                # The count is free to compare; the digest (a sort) only for a candidate of the right size.
                if len(candidate) == watermark.count and numbers_digest(candidate) == watermark.digest:
                    return sorted(candidate)
        except (OSError, ValueError, subprocess.SubprocessError):
            return None
        return None

    @staticmethod
    def _git(directory: Path, *args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(directory), *args],
            capture_output=True, text=True, check=True, timeout=GIT_TIMEOUT,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
        return done.stdout


# Read strategies (module functions: each one job, easy to test) ------------------------------


def list_opt_out_lists(api: Api, names: Sequence[str] | None = None) -> dict[str, str]:
    """Live lists of the account: name -> ARN (one call for up to 100 lists; 25 is the quota).
    The whole listing is read once per run and shared with the shares area."""
    # AWS refuses Owner together with OptOutListNames (PARAMETERS_CANNOT_BE_USED_TOGETHER). A bare
    # name finds only the caller's own list (shared lists need their full ARN), so names suffice.
    params: dict[str, Any] = {"OptOutListNames": list(names)} if names else {"Owner": "SELF"}
    found: dict[str, str] = {}
    try:
        pages = api.listing(SMS_VOICE, "DescribeOptOutLists", **params) if not names else api.pages(
            SMS_VOICE, "DescribeOptOutLists", **params
        )
        for page in pages:
            for item in page.get("OptOutLists", []):
                found[str(item["OptOutListName"])] = str(item["OptOutListArn"])
    except ClientError as error:
        if not names or error_code(error) != "ResourceNotFoundException":
            raise
    return found


def read_watermark(api: Api, arn: str) -> Watermark | None:
    tags = api.call(SMS_VOICE, "ListTagsForResource", ResourceArn=arn).get("Tags", [])
    for tag in tags:
        if tag.get("Key") == WATERMARK_TAG:
            return Watermark.parse(str(tag.get("Value", "")))
    return None


PROGRESS_SECONDS = 30.0  # seconds between progress events of a whole-list read (on the Api's clock)


def read_all(
    api: Api,
    name: str,
    arn: str,
    strategy: Strategy,
    listed: Sequence[str] | None,
    checkpoint: Checkpoints | None = None,
    scope: str = "",
    expected_entries: int | None = None,
) -> LiveList:
    """Every page. With ``listed``, keep only those numbers (additive); else keep every entry.

    Logs ``read.progress`` every PROGRESS_SECONDS (with the time left when the list's size is
    known from its watermark). With ``checkpoint``, saves its place every SAVE_EVERY pages under
    ``scope`` and resumes from a saved place (reconciler/checkpoint.py)."""
    wanted = None if listed is None else set(listed)
    state = (checkpoint.load(scope) if checkpoint is not None else None) or ReadState()
    calls = 0
    total_pages = None if expected_entries is None else costs.read_all_calls(expected_entries)
    logged_at = api.clock()
    while True:
        params: dict[str, Any] = {"OptOutListName": name, "MaxResults": costs.PAGE_SIZE}
        if state.next_token:
            params["NextToken"] = state.next_token
        try:
            page = api.call(SMS_VOICE, "DescribeOptedOutNumbers", **params)
        except ClientError as error:
            if state.next_token is None or error_code(error) != "ValidationException":
                raise
            log.warning("read.restart", list=name, reason="the saved NextToken was refused", pages=state.pages)
            state = ReadState()
            continue
        calls += 1
        state.pages += 1
        for entry in page.get("OptedOutNumbers", []):
            state.entries += 1
            number = entry["OptedOutNumber"]
            if entry.get("EndUserOptedOut"):
                state.end_user.add(number)
            if wanted is None or number in wanted:
                state.present.add(number)
        state.next_token = page.get("NextToken")
        if not state.next_token:
            break
        if api.clock() - logged_at >= PROGRESS_SECONDS:
            logged_at = api.clock()
            left = None if total_pages is None else max(0, total_pages - state.pages) / costs.READ_RATE
            log.info("read.progress", area=AREA, list=name, pages=state.pages, entries=state.entries,
                     **({"seconds_left_at_quota": round(left)} if left is not None else {}))
        if checkpoint is not None and state.pages % SAVE_EVERY == 0:
            checkpoint.save(scope, state)
    if checkpoint is not None:
        checkpoint.clear(scope)
    return LiveList(
        name, arn, strategy, complete=True, entry_count=state.entries,
        present=frozenset(state.present), end_user=frozenset(state.end_user), calls=calls,
    )


def lookup(api: Api, name: str, arn: str, strategy: Strategy, numbers: Sequence[str]) -> LiveList:
    """Ask for the listed numbers, five at a time; the answer holds those on the list."""
    present: set[str] = set()
    end_user: set[str] = set()
    calls = 0
    ordered = numbers if _strictly_sorted(numbers) else sorted(set(numbers))
    for start in range(0, len(ordered), costs.LOOKUP_BATCH):
        batch = ordered[start : start + costs.LOOKUP_BATCH]
        calls += 1
        try:
            response = api.call(SMS_VOICE, "DescribeOptedOutNumbers", OptOutListName=name, OptedOutNumbers=batch)
        except ClientError as error:
            if error_code(error) != "ResourceNotFoundException" or not _not_found_is_number(error):
                raise
            # Assumption (strictest plausible): AWS may answer a lookup that names an absent number
            # with ResourceNotFoundException rather than a shorter list; then ask one at a time.
            calls += _lookup_singly(api, name, batch, present, end_user)
            continue
        _collect(response, present, end_user)
    return LiveList(name, arn, strategy, present=frozenset(present), end_user=frozenset(end_user), calls=calls)


def probe(api: Api, name: str, arn: str, strategy: Strategy, numbers: Sequence[str]) -> LiveList:
    """Read pages while that is cheaper than looking the unseen numbers up, then look them up."""
    unseen = set(numbers)
    present: set[str] = set()
    end_user: set[str] = set()
    pages = count = 0
    complete = False
    token: str | None = None
    while costs.keep_probing(pages, len(unseen)):
        params: dict[str, Any] = {"OptOutListName": name, "MaxResults": costs.PAGE_SIZE}
        if token:
            params["NextToken"] = token
        page = api.call(SMS_VOICE, "DescribeOptedOutNumbers", **params)
        pages += 1
        for entry in page.get("OptedOutNumbers", []):
            count += 1
            number = entry["OptedOutNumber"]
            if entry.get("EndUserOptedOut"):  # every one seen: a complete probe knows them all (carry)
                end_user.add(number)
            if number in unseen:
                unseen.discard(number)
                present.add(number)
        token = page.get("NextToken")
        if not token:
            complete = True
            break
    if complete or not unseen:
        # The whole list was seen (unseen numbers are absent), or every listed number was found.
        return LiveList(
            name, arn, strategy, complete=complete, entry_count=count if complete else None,
            present=frozenset(present), end_user=frozenset(end_user), calls=pages,
        )
    rest = lookup(api, name, arn, strategy, sorted(unseen))
    return LiveList(
        name, arn, strategy, present=frozenset(present | rest.present),
        end_user=frozenset(end_user | rest.end_user), calls=pages + rest.calls,
    )


def _lookup_singly(api: Api, name: str, batch: Sequence[str], present: set[str], end_user: set[str]) -> int:
    for number in batch:
        try:
            one = api.call(SMS_VOICE, "DescribeOptedOutNumbers", OptOutListName=name, OptedOutNumbers=[number])
        except ClientError as error:
            if error_code(error) != "ResourceNotFoundException" or not _not_found_is_number(error):
                raise
            continue
        _collect(one, present, end_user)
    return len(batch)


def _collect(response: dict[str, Any], present: set[str], end_user: set[str]) -> None:
    for entry in response.get("OptedOutNumbers", []):
        present.add(entry["OptedOutNumber"])
        if entry.get("EndUserOptedOut"):
            end_user.add(entry["OptedOutNumber"])


# Change builders ---------------------------------------------------------------------------


def _additions(name: str, numbers: Sequence[str], verified: bool, labels: dict[str, str]) -> list[Change]:
    label = "add" if verified else "add (unverified: up to)"
    flags = frozenset() if verified else frozenset({"unverified"})
    return _members("add", name, numbers, labels, ORDER_MEMBERS_ADD, flags, lambda m: f"{label} {m} to {name}")


def _removals(name: str, numbers: Sequence[str], labels: dict[str, str]) -> list[Change]:
    return _members("remove", name, numbers, labels, ORDER_MEMBERS_REMOVE, frozenset(),
                    lambda m: f"remove {m} from {name} (exact mode)")


def _members(
    action: Literal["add", "remove"],
    name: str,
    numbers: Sequence[str],
    labels: dict[str, str],
    order: int,
    flags: frozenset[str],
    summary: Callable[[str], str],
) -> list[Change]:
    """One change per number (sorted, unique), keyed and shown by its mask; the number itself
    travels in ``secret`` only."""
    if not numbers:
        return []
    data = {"list": name}  # shared by every change of the list: one dict, not a million
    scope = f"{AREA}/{name}"
    return [
        Change(
            AREA,
            action,
            "opted-out-number",
            f"{scope}/{labels[number]}",
            before=labels[number] if action == "remove" else None,
            after=labels[number] if action == "add" else None,
            order=order,
            flags=flags,
            data=data,
            secret=number,
            scope=scope,
            summary=summary(labels[number]),
        )
        for number in numbers
    ]


def _watermark_change(spec: OptOutListSpec, live_count: int | None) -> Change:
    """Record the listed numbers on the list after its additions.

    The tag value (count and digest) travels in ``secret``: a digest of a small set of numbers can
    be brute-forced, so it never enters a report or a saved plan (the engine re-plans before
    applying a saved plan, which restores it).
    """
    mark = Watermark(len(spec.numbers), numbers_digest(spec.numbers), live_count)
    return Change(
        AREA,
        "update",
        "opt-out-list-watermark",
        f"{AREA}/{spec.name}/watermark",
        after={"numbers": mark.count, "live_entries": live_count},
        order=ORDER_WATERMARK,
        data={"list": spec.name},
        secret=mark.encode(),
        summary=f"record the {len(spec.numbers)} listed numbers on {spec.name} (lets later plans skip reading it)",
    )


def _ignore(api: Api, operation: str, codes: set[str], **params: Any) -> None:
    try:
        api.call(SMS_VOICE, operation, **params)
    except ClientError as error:
        if error_code(error) not in codes:
            raise


def _not_found_is_number(error: ClientError) -> bool:
    """A missing *number* is converged; a missing *list* is not (the plan expected it)."""
    resource_type = str(error.response.get("ResourceType", "") or error.response.get("Error", {}).get("ResourceType", ""))
    return resource_type != "opt-out-list"
