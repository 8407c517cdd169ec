"""Round-trip edits of the policy files: folding live drift back into git (``drift --accept``).

Edits go through ruamel.yaml's round-trip mode with the file's own indentation, so comments,
key order, quoting and flow lists (``[AU, NG]  # why``) survive; only the values that change
are rewritten. Every edit is validated by loading the whole policy afterwards, and files are
restored when the result does not validate, so a failed edit changes nothing.

This module is the generic editor: it knows no area. Each change is folded by the
:class:`DriftAcceptor` of the area that owns the change's resource type (``Area.drift_acceptor``);
an area without one leaves its drift to a human.
"""

from __future__ import annotations

import io
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedSeq
from ruamel.yaml.util import load_yaml_guess_indent

from reconciler.config.model import Policy
from reconciler.plan import Change, Plan


class EditError(ValueError):
    """A policy file cannot be edited safely (it is left unchanged)."""


# -- round-trip documents ---------------------------------------------------------------------------


@dataclass
class Document:
    path: Path
    text: str
    data: Any
    yaml: YAML

    @classmethod
    def load(cls, path: Path) -> Document:
        text = path.read_text(encoding="utf-8")
        _, sequence_indent, offset = load_yaml_guess_indent(text)
        yaml = YAML()  # round-trip
        yaml.preserve_quotes = True
        yaml.width = 4096  # never re-wrap long lines
        yaml.indent(mapping=2, sequence=sequence_indent or 4, offset=offset if offset is not None else 2)
        return cls(path, text, yaml.load(text), yaml)

    def dumps(self) -> str:
        out = io.StringIO()
        self.yaml.dump(self.data, out)
        return out.getvalue()


def _policy_files(config_dir: Path) -> list[Path]:
    from reconciler.config.loader import policy_files  # the guardrails are not policy: never rewritten

    return policy_files(config_dir)


def flow_list(items: Iterable[str]) -> CommentedSeq:
    """A sorted one-line list (``[AU, NG]``), the way people write short lists in the policy."""
    seq = CommentedSeq(sorted(items))
    seq.fa.set_flow_style()
    return seq


def _applies_to(entry: Any, target: str) -> bool:
    targets = entry.get("targets") if isinstance(entry, dict) else None
    return not targets or target in targets


# -- drift --accept ------------------------------------------------------------------------------------

# Why a change is left for a human when no area can fold it (or its area cannot fold this kind).
UNSUPPORTED = "accepting this kind of drift is not supported; edit the policy by hand"


@dataclass
class AcceptResult:
    changed_files: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)  # change keys folded into git
    skipped: list[str] = field(default_factory=list)  # "key: why" for drift that needs a human


@dataclass
class PolicyEdit:
    """One ``drift --accept`` run over a policy directory, as the areas' acceptors see it: the
    round-trip documents, the entries of a section that apply to a target, and what was accepted
    (the documents to write) or left for a human."""

    config_dir: Path
    documents: list[Document]
    # The loaded policy when the caller has it (else an acceptor reads what it needs from the files).
    policy: Policy | None = None
    result: AcceptResult = field(default_factory=AcceptResult)
    touched: dict[Path, Document] = field(default_factory=dict)

    def find(self, section: str, target: str, matches: Callable[[dict[str, Any]], bool]) -> tuple[Document, Any] | None:
        """The first entry of the YAML list ``section`` (in any file) that applies to ``target``
        and ``matches``, with its document."""
        for doc in self.documents:
            items = doc.data.get(section) if isinstance(doc.data, dict) else None
            for entry in items or []:
                if isinstance(entry, dict) and _applies_to(entry, target) and matches(entry):
                    return doc, entry
        return None

    def find_by(self, section: str, key: str, value: str, target: str) -> tuple[Document, Any] | None:
        """The entry of ``section`` whose ``key`` is ``value`` and that applies to ``target``."""
        return self.find(section, target, lambda entry: str(entry.get(key)) == value)

    def accepted(self, change: Change, document: Document) -> None:
        """``change`` is folded into ``document`` (written once every change is folded)."""
        self.result.accepted.append(change.key)
        self.touched[document.path] = document

    def skip(self, change: Change, why: str) -> None:
        """``change`` is left for a human, because ``why``."""
        self.result.skipped.append(f"{change.key}: {why}")

    def set_attributes(self, change: Change, found: tuple[Document, Any] | None, values: dict[str, Any]) -> None:
        """Give the entry ``found`` the live ``values`` (attribute: value), or skip ``change`` when
        the policy files have no such entry."""
        if found is None:
            self.skip(change, "not found in the policy files")
            return
        doc, entry = found
        for attribute, value in sorted(values.items()):
            entry[attribute] = value
        self.accepted(change, doc)


class DriftAcceptor(ABC):
    """How one area folds its drift into the policy files: one instance per ``drift --accept``
    run (``Area.drift_acceptor``), handed each change of a resource type the area owns."""

    def __init__(self, edit: PolicyEdit) -> None:
        self.edit = edit

    # Optional hooks: nothing to do by default.
    def begin(self, plan: Plan) -> None:  # noqa: B027
        """Called before the changes of ``plan`` (one target's drift) are folded."""

    @abstractmethod
    def fold(self, target: str, change: Change) -> None:
        """Fold ``change`` into the documents (``edit.accepted``) or leave it (``edit.skip``)."""

    def finish(self) -> None:  # noqa: B027
        """Called once every change of every plan is folded, before the files are written."""


def _acceptors(edit: PolicyEdit) -> tuple[list[DriftAcceptor], dict[str, DriftAcceptor]]:
    """Every area's acceptor, and the acceptor of each resource type: that of the area declaring it."""
    from reconciler.areas.base import registry  # the areas import this module: resolve at call time

    acceptors: list[DriftAcceptor] = []
    by_type: dict[str, DriftAcceptor] = {}
    for cls in registry().values():
        acceptor = cls.drift_acceptor(edit)
        if acceptor is not None:
            acceptors.append(acceptor)
            by_type.update(dict.fromkeys(cls.resource_types, acceptor))
    return acceptors, by_type


def accept_live(config_dir: str | Path, plans: Plan | Sequence[Plan], policy: Policy | None = None) -> list[str]:
    """Fold the drift in ``plans`` into the policy files; the files changed. See :func:`accept_drift`."""
    return accept_drift(config_dir, plans, policy).changed_files


def accept_drift(config_dir: str | Path, plans: Plan | Sequence[Plan], policy: Policy | None = None) -> AcceptResult:
    """Rewrite the policy files so that live state becomes the policy, for the drift in ``plans``.

    ``plans`` are drift plans (``before`` = live, ``after`` = policy), one per target. Each change
    goes to the acceptor of the area owning its resource type (``reconciler/areas/<area>/accept.py``);
    what no acceptor folds is listed in ``skipped`` for a human. ``policy`` is the loaded policy,
    when the caller has it. Returns the changed files (relative paths as given by ``config_dir``),
    already written; when the result does not validate, every file is restored and
    :class:`EditError` raised.
    """
    directory = Path(config_dir)
    edit = PolicyEdit(directory, [Document.load(p) for p in _policy_files(directory)], policy)
    acceptors, by_type = _acceptors(edit)
    for plan in [plans] if isinstance(plans, Plan) else plans:
        for acceptor in acceptors:
            acceptor.begin(plan)
        for change in plan.sorted_changes():
            owner = by_type.get(change.resource_type)
            if owner is None:
                edit.skip(change, UNSUPPORTED)
            else:
                owner.fold(plan.target, change)
    for acceptor in acceptors:
        acceptor.finish()
    result = edit.result
    originals = {path: doc.text for path, doc in edit.touched.items()}
    try:
        for path, doc in sorted(edit.touched.items()):
            text = doc.dumps()
            if text != doc.text:
                path.write_text(text, encoding="utf-8")
                result.changed_files.append(str(path))
        _validate(directory)
    except BaseException:
        for path, text in originals.items():
            path.write_text(text, encoding="utf-8")
        raise
    return result


def _validate(config_dir: Path) -> None:
    from reconciler.config import format_text, has_errors, load_policy

    policy, diagnostics = load_policy(config_dir)
    if policy is None or has_errors(diagnostics):
        raise EditError("the edited policy does not validate; nothing was changed:\n" + format_text(diagnostics))
