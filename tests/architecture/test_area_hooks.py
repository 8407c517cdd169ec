"""The hooks through which an area adds CLI commands (``Area.commands``) and folds its drift into the
policy files (``Area.drift_acceptor``), exercised with a throwaway area the generic code cannot know."""

from __future__ import annotations

import re
import shutil
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest

from reconciler.areas import base
from reconciler.areas.base import Area
from reconciler.cli import build_parser, command_modules, main
from reconciler.config import load_policy
from reconciler.config.edit import DriftAcceptor, EditError, PolicyEdit, accept_drift
from reconciler.plan import Change, Plan

EXAMPLE = Path(__file__).resolve().parents[2] / "config"

COMMAND_MODULE = '''
def register(subparsers):
    parser = subparsers.add_parser("hello", help="greet from the widgets area")
    parser.add_argument("--name", default="world")
    parser.set_defaults(func=run)


def run(args):
    print(f"hello {args.name}")
    return 0
'''


class WidgetsArea(Area):
    """An area in a package outside the reconciler, as a new area would be added."""

    __module__ = "widgetarea.area"  # its package: widgetarea (written by the fixture)
    name = "widgets"
    operations = ()
    resource_types = frozenset({"widget"})
    commands: ClassVar[Mapping[str, str]] = {"hello": "hello_command"}

    def read(self, api: Any, desired: Any) -> Any:
        return None

    def diff(self, desired: Any, live: Any) -> list[Change]:
        return []

    def apply(self, api: Any, change: Change) -> None:
        return None


@pytest.fixture
def widgets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> type[WidgetsArea]:
    package = tmp_path / "widgetarea"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "hello_command.py").write_text(textwrap.dedent(COMMAND_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    load_policy(EXAMPLE)  # the policy language's caches are filled by the real areas only
    monkeypatch.setitem(base._REGISTRY, WidgetsArea.name, WidgetsArea)
    return WidgetsArea


def test_an_area_command_is_registered_by_the_hook(widgets: type[WidgetsArea], capsys: pytest.CaptureFixture[str]) -> None:
    assert command_modules()["hello"] == "widgetarea.hello_command"
    help_text = build_parser().format_help()
    # Listed among the generic commands, in name order.
    assert help_text.index("    github ") < help_text.index("    hello       greet from the widgets area") < help_text.index("    iam-policy ")
    assert main(["hello", "--name", "reviewer"]) == 0
    assert capsys.readouterr().out == "hello reviewer\n"


def test_every_command_is_listed_in_name_order_and_block_is_protects() -> None:
    modules = command_modules()
    assert modules["block"] == "reconciler.areas.protect.block_command"
    assert modules["import"] == "reconciler.commands.import_"
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert list(sub.choices) == sorted(modules) and set(modules) <= set(sub.choices)  # type: ignore[arg-type]


def test_an_area_command_may_not_take_a_generic_commands_name(widgets: type[WidgetsArea], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(widgets, "commands", {"plan": "hello_command"})
    with pytest.raises(RuntimeError, match=re.escape("area 'widgets' adds the command 'plan' that reconciler.commands.plan already adds")):
        build_parser()


class WidgetAcceptor(DriftAcceptor):
    """Folds a widget's live ``international_sending`` onto the phone number the widget names."""

    calls: ClassVar[list[str]] = []

    def begin(self, plan: Plan) -> None:
        self.calls.append(f"begin {plan.target}")

    def fold(self, target: str, change: Change) -> None:
        self.calls.append(f"fold {change.key}")
        found = self.edit.find_by("phone_numbers", "phone_number", str(change.data["number"]), target)
        self.edit.set_attributes(change, found, {"international_sending": change.before})

    def finish(self) -> None:
        self.calls.append("finish")


def test_drift_accept_folds_each_change_through_the_area_owning_its_resource_type(
    widgets: type[WidgetsArea], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config"
    shutil.copytree(EXAMPLE, config)
    monkeypatch.setattr(widgets, "drift_acceptor", classmethod(lambda cls, edit: WidgetAcceptor(edit)))
    monkeypatch.setattr(WidgetAcceptor, "calls", [])
    identities = (config / "identities.yaml").read_text()

    def widget(number: str, live: Any) -> Change:
        return Change("widgets", "update", "widget", f"widgets/{number}", live, True, data={"number": number})

    drift = Plan(target="prod", changes=[widget("+18885550100", False), widget("+15555550199", False)])
    result = accept_drift(config, drift)
    assert WidgetAcceptor.calls == ["begin prod", "fold widgets/+15555550199", "fold widgets/+18885550100", "finish"]
    assert result.accepted == ["widgets/+18885550100"]
    assert result.skipped == ["widgets/+15555550199: not found in the policy files"]
    assert result.changed_files == [str(config / "identities.yaml")]
    policy, _ = load_policy(config)
    assert policy is not None and policy.desired["prod"].phone_numbers[0].international_sending is False

    # A fold the policy does not accept: every file is restored and the error says why.
    (config / "identities.yaml").write_text(identities)
    with pytest.raises(EditError, match="does not validate; nothing was changed"):
        accept_drift(config, Plan(target="prod", changes=[widget("+18885550100", "sometimes")]))
    assert (config / "identities.yaml").read_text() == identities


def test_an_area_without_an_acceptor_leaves_its_drift_for_a_human(widgets: type[WidgetsArea], tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(EXAMPLE, config)
    before = {p.name: p.read_text() for p in config.iterdir() if p.is_file()}
    assert widgets.drift_acceptor(PolicyEdit(config, [])) is None
    change = Change("widgets", "update", "widget", "widgets/w1", {"colour": "red"}, {"colour": "blue"})
    result = accept_drift(config, Plan(target="prod", changes=[change]))
    assert result.skipped == ["widgets/w1: accepting this kind of drift is not supported; edit the policy by hand"]
    assert result.accepted == [] and result.changed_files == []
    assert {p.name: p.read_text() for p in config.iterdir() if p.is_file()} == before
