"""``reconciler validate`` refuses a policy over the target account's resource quotas.

AWS: "By default you can have up to 25 protect configurations" per account and Region (user guide,
"Quotas for AWS End User Messaging SMS"); a raised quota is declared per target in targets.yaml.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.config import load_policy

from .conftest import reported


def _write(config_dir: Path, configurations: int, quotas: str = "", overrides: int = 0) -> None:
    (config_dir / "targets.yaml").write_text(
        'targets:\n  - name: prod\n    account_id: "111111111111"\n    region: us-east-1\n' + quotas
    )
    lines = ["protect_configurations:"]
    for index in range(configurations):
        lines.append(f"  - name: pc-{index:02d}")
        if overrides and index == 0:
            lines.append("    number_overrides:")
            lines += [f"      - {{number: '+1206555{n:04d}', action: BLOCK}}" for n in range(overrides)]
    (config_dir / "protect.yaml").write_text("\n".join(lines) + "\n")


def test_twenty_five_protect_configurations_fit_the_default_quota(config_dir: Path) -> None:
    _write(config_dir, 25)
    policy, diagnostics = load_policy(config_dir)
    assert diagnostics == [] and policy is not None
    assert policy.targets["prod"].quotas.protect_configurations == 25


def test_the_26th_protect_configuration_is_refused_at_its_line(config_dir: Path) -> None:
    _write(config_dir, 26)
    policy, diagnostics = load_policy(config_dir)
    assert policy is None
    # pc-25 is the 26th item: line 1 is the section key, each item one line.
    assert reported(config_dir, diagnostics) == ["protect.yaml:27:5: error[quota-exceeded]"]
    (diagnostic,) = diagnostics
    assert "declares 26 protect configurations" in diagnostic.message and "25" in diagnostic.message
    assert diagnostic.hint is not None and "quotas: {protect_configurations: N}" in diagnostic.hint


def test_a_raised_quota_is_declared_per_target(config_dir: Path) -> None:
    _write(config_dir, 26, quotas="    quotas: {protect_configurations: 30}\n")
    policy, diagnostics = load_policy(config_dir)
    assert diagnostics == [] and policy is not None
    assert policy.desired["prod"].target.quotas.protect_configurations == 30


def test_a_number_override_quota_counts_each_configuration(config_dir: Path) -> None:
    _write(config_dir, 1, quotas="    quotas: {number_overrides_per_protect_configuration: 2}\n", overrides=3)
    policy, diagnostics = load_policy(config_dir)
    assert policy is None
    assert reported(config_dir, diagnostics) == ["protect.yaml:6:9: error[quota-exceeded]"]


def test_quotas_are_schema_checked(config_dir: Path) -> None:
    _write(config_dir, 1, quotas="    quotas: {protect_configurations: 0, sender_ids: 3}\n")
    policy, diagnostics = load_policy(config_dir)
    assert policy is None
    assert len([d for d in diagnostics if d.is_error]) == 2


def test_a_quota_share_is_declared_per_target(config_dir: Path) -> None:
    _write(config_dir, 1, quotas="    quota_share: 0.5\n")
    policy, diagnostics = load_policy(config_dir)
    assert diagnostics == [] and policy is not None
    assert policy.targets["prod"].quota_share == 0.5


def test_a_quota_share_outside_zero_to_one_is_refused_at_its_line(config_dir: Path) -> None:
    _write(config_dir, 1, quotas="    quota_share: 1.5\n")
    policy, diagnostics = load_policy(config_dir)
    assert policy is None
    assert reported(config_dir, diagnostics) == ["targets.yaml:5:18: error[schema-invalid]"]
