"""Targets are unique per account and Region, and schema patterns match whole strings."""

from __future__ import annotations

from pathlib import Path

from reconciler.config import load_policy

from .conftest import reported


def test_two_targets_on_one_account_and_region_are_an_error_at_the_second(config_dir: Path) -> None:
    (config_dir / "targets.yaml").write_text(
        "targets:\n"
        "  - name: prod\n"
        '    account_id: "111111111111"\n'
        "    region: us-east-1\n"
        "  - name: prod-again\n"
        '    account_id: "111111111111"\n'
        "    region: us-east-1\n"
        "  - name: prod-eu\n"
        '    account_id: "111111111111"\n'
        "    region: eu-west-1\n"
    )
    policy, diagnostics = load_policy(config_dir)
    assert policy is None
    assert reported(config_dir, diagnostics) == ["targets.yaml:6:17: error[duplicate-target-place]"]
    (only,) = diagnostics
    assert "'prod'" in only.message and "'prod-again'" in only.message and "one target per account" in (only.hint or "")


def test_a_trailing_newline_does_not_satisfy_a_pattern(config_dir: Path) -> None:
    (config_dir / "targets.yaml").write_text(
        'targets:\n  - name: "prod\\n"\n    account_id: "111111111111\\n"\n    region: us-east-1\n'
    )
    policy, diagnostics = load_policy(config_dir)
    assert policy is None
    assert reported(config_dir, diagnostics) == [
        "targets.yaml:2:11: error[schema-pattern]",
        "targets.yaml:3:17: error[schema-pattern]",
    ]
