"""Whatever is fed to the loader, it ends in a Policy or in diagnostics - never in an exception."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.config import CODES, load_policy
from reconciler.config.model import Policy

REPO = Path(__file__).resolve().parents[2]
FUZZ = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,  # fixed seed: the same examples on every run
    suppress_health_check=[HealthCheck.too_slow],
)

KEYS = [
    "targets", "name", "account_id", "region", "role_arn", "organization", "arn", "accounts", "prune",
    "phone_numbers", "phone_number", "international_sending", "opt_out_list", "deletion_protection",
    "pools", "pool", "sender_ids", "sender_id", "country", "configuration_sets", "protect_configuration",
    "protect_configurations", "account_default", "rules", "SMS", "VOICE", "default", "ALLOW", "BLOCK",
    "MONITOR", "number_overrides", "number", "action", "expires", "opt_out_lists", "mode", "numbers",
    "numbers_file", "shares", "principals", "allow_external_principals", "permissions", "resources",
    "emergency_blocks", "capabilities", "reason",
]  # fmt: skip
SCALARS = st.one_of(
    st.sampled_from(
        ["prod", "111111111111", "us-east-1", "AU", "NO", "GB", "+18885550100", "+12065550100", "ALLOW",
         "BLOCK", "additive", "exact", "DEMOTP/GB", "n.txt", "../x", "shared", "p", "tx", "phone-ab12"]
    ),
    st.booleans(),
    st.none(),
    st.integers(min_value=-(10**13), max_value=10**13),
    st.text(max_size=12),
)  # fmt: skip
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(KEYS), inner, max_size=5),
    ),
    max_leaves=25,
)
DOCUMENTS = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6)


def _check(files: dict[str, str | bytes], base: Path | None = None) -> None:
    with tempfile.TemporaryDirectory() as temp:
        config = Path(temp) / "config"
        if base is not None:
            shutil.copytree(base, config)
        else:
            config.mkdir()
        (config / "n.txt").write_text("+12065550100\nnot a number\n")
        for name, content in files.items():
            path = config / name
            path.write_bytes(
                content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass")
            )
        policy, diagnostics = load_policy(config)
    assert policy is None or isinstance(policy, Policy)
    assert (policy is None) == any(d.is_error for d in diagnostics)
    for diagnostic in diagnostics:
        assert diagnostic.code in CODES
        assert diagnostic.line >= 1 and diagnostic.column >= 1
        assert diagnostic.message


@FUZZ
@given(st.text(max_size=300))
def test_arbitrary_text(text: str) -> None:
    _check({"policy.yaml": text.encode("utf-8", "replace")})


@FUZZ
@given(st.binary(max_size=200))
def test_arbitrary_bytes(data: bytes) -> None:
    _check({"policy.yaml": data})


@FUZZ
@given(DOCUMENTS, st.booleans())
def test_policy_shaped_documents(document: dict[str, Any], as_emergency: bool) -> None:
    text = yaml.safe_dump(document, sort_keys=False)
    targets = 'targets: [{name: prod, account_id: "111111111111", region: us-east-1}]\n'
    files: dict[str, str | bytes] = {"emergency.yaml" if as_emergency else "policy.yaml": text}
    if "targets" not in document:
        files["targets.yaml"] = targets
    _check(files)


@FUZZ
@given(
    st.sampled_from(["targets.yaml", "identities.yaml", "protect.yaml", "shares.yaml", "opt-outs.yaml"]),
    st.data(),
)
def test_mutated_example_config(name: str, data: st.DataObject) -> None:
    text = (REPO / "config" / name).read_text()
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        at = data.draw(st.integers(min_value=0, max_value=len(text)))
        if data.draw(st.booleans()):
            end = data.draw(st.integers(min_value=at, max_value=min(len(text), at + 12)))
            text = text[:at] + text[end:]
        else:
            text = (
                text[:at]
                + data.draw(
                    st.sampled_from(
                        [
                            ":",
                            "-",
                            "[",
                            "]",
                            "{",
                            "}",
                            "&a",
                            "*a",
                            "!!",
                            "|",
                            ">",
                            "'",
                            '"',
                            "#",
                            "\t",
                            "\n",
                            " ",
                            "<<: ",
                            "NO",
                            "0",
                        ]
                    )
                )
                + text[at:]
            )
    _check({name: text}, base=REPO / "config")
