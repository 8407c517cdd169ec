"""``reconciler import --out DIR``: write a policy directory that describes what is live.

Reads every area of each target (opt-out lists with all their entries, shares, protect
configurations, phone numbers, pools and sender IDs) and writes policy files that plan to zero
changes: ``targets.yaml``, ``phone_numbers.yaml``, ``protect.yaml``, ``opt_out_lists.yaml``,
``shares.yaml``, and one ``numbers/…txt`` file per non-empty opt-out list. Nothing live is changed.

Choices that keep the round trip exact and safe:

* Opt-out lists are imported ``additive`` (the safe mode: a later plan never removes a number).
* Phone numbers are written by E.164 number; pools by their ``Name`` tag when it is unique, else
  by id; ``international_sending`` only for US toll-free numbers (elsewhere AWS refuses it).
* Country rules are written compactly: the most common status becomes ``default``.
* What the policy language cannot express is left out and reported on stderr: protect
  configurations without a ``Name`` tag, shares without principals.

Existing files are never overwritten: if any file the import would write exists, nothing is
written and the command fails naming them.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reconciler.areas.opt_outs import LiveOptOuts, OptOutsArea
from reconciler.areas.phone_numbers import NumbersLive, PhoneNumbersArea, own_sender_ids
from reconciler.areas.protect import ProtectArea, ProtectLive
from reconciler.areas.shares import STANDARD, LiveShares, SharesArea, permission_name, resource_ref
from reconciler.areas.shares_policies import LivePolicies, ResourcePoliciesArea, import_items
from reconciler.aws import Api, SandboxSessionFactory, SessionFactory
from reconciler.cli import UserError
from reconciler.config.model import (
    CAPABILITIES,
    STATUSES,
    CapabilityRules,
    Desired,
    PhoneNumberSpec,
    Policy,
    PoolSpec,
    SenderIdSpec,
    Target,
)
from reconciler.countries import SUPPORTED
from reconciler.logs import say
from reconciler.options import add_common, load, open_sandbox, rate_scale, setup_logging

NUMBERS_DIR = "numbers"
ALL_RULES = {capability: CapabilityRules() for capability in CAPABILITIES}


@dataclass
class Imported:
    """Everything read from one target."""

    target: Target
    opt_outs: LiveOptOuts
    shares: LiveShares
    numbers: NumbersLive
    protect: ProtectLive
    notes: list[str] = field(default_factory=list)
    policies: LivePolicies | None = None  # resource-based policies (areas/shares_policies.py)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "import",
        help="write a policy directory from live state (never overwrites files)",
        description=(
            "Read the live state of the targets and write a policy directory that plans to zero "
            "changes. Targets come from --config, or from --account/--region."
        ),
    )
    add_common(parser, areas=False)
    parser.add_argument("--out", required=True, metavar="DIR", help="directory to write the policy into")
    parser.add_argument("--account", metavar="ID", help="import this account instead of the targets of --config")
    parser.add_argument("--region", metavar="REGION", help="the region of --account")
    parser.add_argument("--name", default="imported", metavar="NAME", help="target name for --account (default: imported)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    setup_logging(args)
    policy = _policy(args)
    targets = [policy.targets[name] for name in (args.target or sorted(policy.targets))]
    sandbox = open_sandbox(args.sandbox, policy) if args.sandbox else None
    factory: SessionFactory = SandboxSessionFactory(sandbox) if sandbox is not None else SessionFactory()
    out = Path(args.out)
    _check_out_dir(out)
    _refuse_existing(out, POLICY_FILES)
    imports = [import_target(factory, t, rate_scale=rate_scale(sandbox is not None)) for t in targets]
    files = render(imports)
    write_files(out, files)
    for item in imports:
        for note in item.notes:
            say(f"warning: {item.target.name}: {note}", "warning", "import.note")
    print(f"wrote {len(files)} files to {out} ({', '.join(t.name for t in targets)})")
    return 0


def _policy(args: argparse.Namespace) -> Policy:
    """A policy holding just the targets to import."""
    if args.account or args.region:
        if not (args.account and args.region):
            raise UserError("--account and --region go together", hint="e.g. --account 111122223333 --region us-east-1")
        if not (len(args.account) == 12 and args.account.isdigit()):
            raise UserError(f"--account {args.account!r} is not a 12-digit account id")
        target = Target(args.name, args.account, args.region)
        return Policy(config_dir=args.out, targets={target.name: target}, desired={})
    policy = load(args.config)
    unknown = [name for name in args.target if name not in policy.targets]
    if unknown:
        raise UserError(f"unknown target {', '.join(unknown)}", hint=f"targets: {', '.join(sorted(policy.targets))}")
    return Policy(config_dir=policy.config_dir, targets=policy.targets, desired={})


# Reading ----------------------------------------------------------------------------------------


def connect_target(factory: SessionFactory, target: Target, rate_scale: float = 1.0) -> Api:
    """Connect exactly as plan does (role assumption, account check)."""
    from reconciler.engine import Engine

    policy = Policy(config_dir="", targets={target.name: target}, desired={})
    engine = Engine(policy, factory, rate_scale=rate_scale)
    return engine.start(target.name, classes=[]).api


def _read_the_rest(api: Api, target: Target) -> tuple[LiveShares, NumbersLive, tuple[ProtectLive, list[str]]]:
    shares = SharesArea().read_everything(api)
    # The phone-number area reads numbers and pools when the policy names any; name a probe of
    # each kind (an id and a Name tag that match nothing) so that it lists them all, with tags.
    sender_ids = tuple(SenderIdSpec(item["SenderId"], item["IsoCountryCode"]) for item in own_sender_ids(api))
    probe = Desired(
        target=target,
        phone_numbers=(PhoneNumberSpec("phone-import-probe"),),
        pools=(PoolSpec("import-probe"),),
        sender_ids=sender_ids,
    )
    numbers = PhoneNumbersArea().read(api, probe)
    return shares, numbers, _read_protect(api, target)


def _read_protect(api: Api, target: Target) -> tuple[ProtectLive, list[str]]:
    """Every protect configuration, the named ones with all four capabilities; configurations
    without a unique Name tag are reported (and left out of the policy by ``_protect``)."""
    protect = ProtectArea().read_everything(api, ALL_RULES, Desired(target=target))
    named = Counter(c.name for c in protect.configurations if c.name)
    notes = [
        f"protect configuration {c.id} has no Name tag; the policy names configurations by it, so it is not imported"
        for c in protect.configurations
        if not c.name
    ]
    notes.extend(
        f"{count} protect configurations carry Name={name}; none of them is imported (re-tag them first)"
        for name, count in sorted(named.items())
        if count > 1
    )
    return protect, notes


def import_target(factory: SessionFactory, target: Target, api: Api | None = None, rate_scale: float = 1.0) -> Imported:
    api = api or connect_target(factory, target, rate_scale)
    # Every entry of every opt-out list takes most of the time (1 page of 100 a second); the other
    # areas use other operations' quotas, so they are read meanwhile.
    lists: list[LiveOptOuts] = []

    def read_lists() -> None:
        lists.append(OptOutsArea(command="import").read_everything(api))

    rest: list[tuple[LiveShares, NumbersLive, tuple[ProtectLive, list[str]]]] = []
    found: list[LivePolicies] = []

    def read_policies() -> None:  # GetResourcePolicy has its own quota: read beside the rest
        found.append(ResourcePoliciesArea().read_everything(api, Desired(target=target)))

    api.parallel([read_lists, lambda: rest.append(_read_the_rest(api, target)), read_policies])
    policies = found[0]
    opt_outs = lists[0]
    shares, numbers, (protect, notes) = rest[0]
    notes.extend(
        f"share {s.name} ({s.arn}) has no principals; the policy requires at least one, so it is not imported"
        for s in shares.shares
        if not s.current("principal") and s.feature_set == STANDARD
    )
    notes.extend(import_items(policies, _refs(numbers))[1])
    return Imported(target, opt_outs, shares, numbers, protect, notes, policies)


def _refs(numbers: NumbersLive) -> dict[str, str]:
    """ARN -> how the imported policy writes a number or pool reference."""
    return {**{n.arn: n.number for n in numbers.numbers}, **_pool_refs(numbers)}


# Rendering (pure) -------------------------------------------------------------------------------


def numbers_path(target: Target, name: str, several: bool) -> str:
    return f"{NUMBERS_DIR}/{target.name}/{name}.txt" if several else f"{NUMBERS_DIR}/{name}.txt"


# The fixed files an import may write; checked before reading (numbers files once known).
POLICY_FILES = ("opt_out_lists.yaml", "phone_numbers.yaml", "protect.yaml", "shares.yaml", "targets.yaml")


def render(imports: Sequence[Imported]) -> dict[str, str]:
    """Relative path -> file content, for every file of the imported policy."""
    several = len(imports) > 1
    sections: dict[str, dict[str, list[Any]]] = {
        "targets.yaml": {"targets": []},
        "phone_numbers.yaml": {"phone_numbers": [], "pools": [], "sender_ids": []},
        "protect.yaml": {"protect_configurations": [], "configuration_sets": []},
        "opt_out_lists.yaml": {"opt_out_lists": []},
        "shares.yaml": {"shares": [], "resource_policies": []},
    }
    files: dict[str, str] = {}
    for item in imports:
        scope = {"targets": [item.target.name]} if several else {}
        target_doc: dict[str, Any] = {
            "name": item.target.name,
            "account_id": item.target.account_id,
            "region": item.target.region,
        }
        if item.target.role_arn:
            target_doc["role_arn"] = item.target.role_arn
        sections["targets.yaml"]["targets"].append(target_doc)
        pool_refs = _pool_refs(item.numbers)
        number_refs = {n.arn: n.number for n in item.numbers.numbers}
        for key, values in _identities(item.numbers, pool_refs).items():
            sections["phone_numbers.yaml"][key].extend({**v, **scope} for v in values)
        protects = _protect(item.protect)
        sections["protect.yaml"]["protect_configurations"].extend({**p, **scope} for p in protects)
        # A protect configuration names its configuration sets; the policy must declare them too.
        associated = sorted({name for p in protects for name in p.get("configuration_sets", [])})
        sections["protect.yaml"]["configuration_sets"].extend({"name": name, **scope} for name in associated)
        for name, live in sorted(item.opt_outs.read.items()):
            doc: dict[str, Any] = {"name": name, "mode": "additive"}
            if live.present:
                path = numbers_path(item.target, name, several)
                doc["numbers_file"] = path
                files[path] = _numbers_file(item.target, name, live.present)
            sections["opt_out_lists.yaml"]["opt_out_lists"].append({**doc, **scope})
        for share in _shares(item.shares, number_refs, pool_refs):
            sections["shares.yaml"]["shares"].append({**share, **scope})
        if item.policies is not None:
            policies = import_items(item.policies, _refs(item.numbers))[0]
            sections["shares.yaml"]["resource_policies"].extend({**p, **scope} for p in policies)
    for path, doc in sections.items():
        kept = {key: value for key, value in doc.items() if value}
        if kept or path == "targets.yaml":
            files[path] = _header() + yaml.safe_dump(kept, sort_keys=False, default_flow_style=False, width=100)
    return dict(sorted(files.items()))


def _header() -> str:
    return "# Written by `reconciler import` from live state; edit freely.\n"


def _numbers_file(target: Target, name: str, numbers: Iterable[str]) -> str:
    head = f"# Opt-out list {name} of {target.account_id} {target.region}, imported {_today()}\n"
    return head + "".join(f"{number}\n" for number in sorted(numbers))


def _today() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")


POOL_NAME = re.compile(r"[A-Za-z0-9_.:/+=@-]{1,256}")  # the policy's pool_ref pattern


def _pool_refs(numbers: NumbersLive) -> dict[str, str]:
    """Pool ARN -> reference: the Name tag when it is unique and writable as a reference, else the id."""
    names = Counter(p.name for p in numbers.pools if p.name)

    def usable(name: str | None) -> bool:
        if not name:
            return False
        return names[name] == 1 and not name.startswith("pool-") and bool(POOL_NAME.fullmatch(name))

    return {p.arn: (str(p.name) if usable(p.name) else p.id) for p in numbers.pools}


def _identities(numbers: NumbersLive, pool_refs: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    phone_numbers = []
    for n in sorted(numbers.numbers, key=lambda n: n.number):
        doc: dict[str, Any] = {"phone_number": n.number}
        if n.country == "US" and n.number_type == "TOLL_FREE":
            doc["international_sending"] = bool(n.attributes.get("international_sending"))
        if n.attributes.get("opt_out_list"):
            doc["opt_out_list"] = n.attributes["opt_out_list"]
        doc["deletion_protection"] = bool(n.attributes.get("deletion_protection"))
        phone_numbers.append(doc)
    pools = []
    for p in sorted(numbers.pools, key=lambda p: pool_refs[p.arn]):
        doc = {"pool": pool_refs[p.arn]}
        if p.attributes.get("opt_out_list"):
            doc["opt_out_list"] = p.attributes["opt_out_list"]
        doc["deletion_protection"] = bool(p.attributes.get("deletion_protection"))
        pools.append(doc)
    sender_ids = [
        {"sender_id": s.sender_id, "country": s.country,
         "deletion_protection": bool(s.attributes.get("deletion_protection"))}
        for s in sorted(numbers.sender_ids, key=lambda s: (s.sender_id, s.country))
    ]
    return {"phone_numbers": phone_numbers, "pools": pools, "sender_ids": sender_ids}


def compact_rules(rules: dict[str, str]) -> dict[str, Any]:
    """A full country map as ``default`` plus the countries that differ, grouped by status."""
    countries = {c: rules.get(c, "ALLOW") for c in sorted(SUPPORTED)}
    counts = Counter(countries.values())
    default = max(STATUSES, key=lambda s: (counts.get(s, 0), s == "ALLOW"))
    doc: dict[str, Any] = {"default": default}
    for status in STATUSES:
        listed = sorted(c for c, s in countries.items() if s == status and status != default)
        if listed:
            doc[status] = listed
    return doc


def _protect(live: ProtectLive) -> list[dict[str, Any]]:
    names = Counter(c.name for c in live.configurations if c.name)
    docs = []
    for config in sorted(live.configurations, key=lambda c: c.name or ""):
        if not config.name or names[config.name] != 1:
            continue
        doc: dict[str, Any] = {"name": config.name}
        if config.account_default:
            doc["account_default"] = True
        doc["deletion_protection"] = config.deletion_protection
        sets = sorted(name for name, pc in live.configuration_sets.items() if pc == config.id)
        if sets:
            doc["configuration_sets"] = sets
        if config.rules:
            doc["rules"] = {cap: compact_rules(config.rules[cap]) for cap in CAPABILITIES if cap in config.rules}
        overrides = []
        for number, override in sorted((config.overrides or {}).items()):
            entry: dict[str, Any] = {"number": number, "action": override["action"]}
            if override.get("expires"):
                entry["expires"] = override["expires"]
            overrides.append(entry)
        if overrides:
            doc["number_overrides"] = overrides
        docs.append(doc)
    return docs


def _shares(live: LiveShares, number_refs: dict[str, str], pool_refs: dict[str, str]) -> list[dict[str, Any]]:
    names = Counter(s.name for s in live.shares)
    docs = []
    for share in sorted(live.shares, key=lambda s: (s.name, s.arn)):
        principals = sorted(share.current("principal"))
        # Shares RAM made from resource policies are written as those policies (resource_policies).
        if not principals or names[share.name] != 1 or share.feature_set != STANDARD:
            continue
        resources = []
        for arn in sorted(share.current("resource")):
            ref = resource_ref(arn)
            if ref is None:
                continue
            value = number_refs.get(arn) if ref.kind == "phone_number" else pool_refs.get(arn) if ref.kind == "pool" else None
            resources.append({ref.kind: value or ref.ref})
        doc: dict[str, Any] = {"name": share.name, "principals": principals}
        if share.allow_external_principals:
            doc["allow_external_principals"] = True
        permissions = sorted(permission_name(p) for p in share.permissions)
        if permissions:
            doc["permissions"] = permissions
        if resources:
            doc["resources"] = sorted(resources, key=lambda r: (next(iter(r)), next(iter(r.values()))))
        docs.append(doc)
    return docs


# Writing ----------------------------------------------------------------------------------------


def _refuse_existing(out: Path, paths: Iterable[str]) -> None:
    existing = sorted(p for p in paths if (out / p).exists())
    if existing:
        raise UserError(
            f"{out} already holds {', '.join(existing)}; import never overwrites files",
            hint="choose an empty --out directory, or move those files away",
        )


def _check_out_dir(out: Path) -> None:
    """Refuse an --out that cannot become a directory we write to, before reading anything."""
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"--out {out}: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"--out {out}: cannot create files under {existing} (not writable)")
    # Permissions do not tell everything (/proc, read-only mounts): create the missing directories
    # once to see, and remove them again so a failed read leaves nothing behind.
    missing = []
    probe = out
    while probe != existing:
        missing.append(probe)
        probe = probe.parent
    try:
        for directory in reversed(missing):
            directory.mkdir()
    except OSError as error:
        raise UserError(f"--out {out}: cannot create directory {directory}: {error.strerror}") from None
    finally:
        for directory in missing:
            with contextlib.suppress(OSError):
                directory.rmdir()


def write_files(out: Path, files: dict[str, str]) -> None:
    """Write every file, or none: all paths are checked first; files are created exclusively.
    Numbers files hold personal data (opted-out numbers): they are created readable by the owner only."""
    _refuse_existing(out, files)
    for path, content in files.items():
        target = out / path
        mode = 0o600 if path.startswith(f"{NUMBERS_DIR}/") else 0o644
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # O_EXCL: never overwrite, even in a race.
            descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(content)
        except OSError as error:
            raise UserError(f"--out {out}: cannot write {path}: {error.strerror or type(error).__name__}") from None
