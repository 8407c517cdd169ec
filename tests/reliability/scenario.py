"""The account every reliability suite works on, and a policy that changes every area of it.

The live account holds opt-out lists with end-user
opt-outs (recipients who replied STOP) and manual entries; the policy adds numbers, removes two
manual entries in ``exact`` mode (never the end-user ones), blocks countries, creates a protect
configuration, turns on international sending, associates a configuration set and shares the
toll-free number with a partner account through RAM.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import phonenumbers

from reconciler.sandbox import ids
from reconciler.sandbox.state import (
    Clock,
    ConfigurationSet,
    OptOutEntry,
    OptOutList,
    PhoneNumber,
    ProtectConfiguration,
    World,
)

ACCOUNT = "123456789012"  # the account any non-numeric access key id maps to in the sandbox
REGION = "us-east-1"
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
DAY = 86_400.0
TOLL_FREE = "+18885550177"
PARTNER = "444455556666"  # an account outside any organization the toll-free number is shared with

# Credentials with values no output may ever contain.
ACCESS_KEY_ID = "AKIARELIABILITYLEAK7"
SECRET_ACCESS_KEY = "rElIaBiLiTy/SeCrEt+KeY/DoNotLeak0123456789"
SESSION_TOKEN = "FwoGZXIvYXdzRELIABILITYsessionTOKENdoNotLeak//////////wEaDHX0123456789"

# Opted-out numbers (personal data). Generated deterministically and valid for the US plan.
_rng = random.Random(5)
END_USER = sorted({f"+1206555{_rng.randrange(1000, 10000):04d}" for _ in range(4)})  # replied STOP
KEPT_MANUAL = sorted({f"+1312555{_rng.randrange(1000, 10000):04d}" for _ in range(26)})  # listed in the policy
REMOVED_MANUAL = ["+14155550190", "+14155550191"]  # live, not in the policy: exact mode removes them
NEW_MARKETING = sorted({f"+1646555{_rng.randrange(1000, 10000):04d}" for _ in range(6)})  # policy adds
ALERTS = sorted({f"+1917555{_rng.randrange(1000, 10000):04d}" for _ in range(12)})  # a new list's numbers
ALL_OPTED_OUT = sorted({*END_USER, *KEPT_MANUAL, *REMOVED_MANUAL, *NEW_MARKETING, *ALERTS, "+12065550142", "+12065550199"})


def seed_world(world: World) -> None:
    """Built here rather than by the sandbox's example generator, so this account never changes
    under the tests: two opt-out lists with end-user opt-outs and manual entries, a toll-free
    number outside any pool, a configuration set and a ``baseline`` protect configuration."""
    state = world.region(ACCOUNT, REGION)
    now = world.clock.now()
    for name in ("Default", "marketing", "legacy"):
        state.opt_out_lists[name] = OptOutList(name, ids.arn(REGION, ACCOUNT, ids.OPT_OUT_LIST, name), now - 90 * DAY)
    marketing = state.opt_out_lists["marketing"]
    for number in END_USER:
        marketing.entries[number] = OptOutEntry(now - 5 * DAY, True)
    for number in (*KEPT_MANUAL, *REMOVED_MANUAL):
        marketing.entries[number] = OptOutEntry(now - 40 * DAY, False)
    state.opt_out_lists["legacy"].entries["+12065550142"] = OptOutEntry(now - 60 * DAY, True)
    state.opt_out_lists["legacy"].entries["+12065550199"] = OptOutEntry(now - 60 * DAY, False)
    rng = random.Random(11)
    number_id = ids.new_id(ids.PHONE_NUMBER, rng)
    state.phone_numbers[number_id] = PhoneNumber(
        number_id,
        ids.arn(REGION, ACCOUNT, ids.PHONE_NUMBER, number_id),
        TOLL_FREE,
        "US",
        "TRANSACTIONAL",
        ["SMS", "VOICE"],
        "TOLL_FREE",
        "2.00",
        now - 30 * DAY,
    )
    state.configuration_sets["transactional"] = ConfigurationSet(
        "transactional", ids.arn(REGION, ACCOUNT, ids.CONFIGURATION_SET, "transactional"), now - 30 * DAY
    )
    protect_id = ids.new_id(ids.PROTECT_CONFIGURATION, rng)
    protect = ProtectConfiguration(protect_id, ids.arn(REGION, ACCOUNT, ids.PROTECT_CONFIGURATION, protect_id), now - 30 * DAY)
    protect.rules = {"SMS": {"AU": "BLOCK"}}
    state.protect_configurations[protect_id] = protect
    state.tags[protect.arn] = {"Name": "baseline"}


def new_world() -> World:
    world = World(Clock(start=START, simulated=True))
    seed_world(world)
    return world


POLICY = f"""\
targets:
  - name: prod
    account_id: "{ACCOUNT}"
    region: {REGION}

phone_numbers:
  - phone_number: "{TOLL_FREE}"
    international_sending: true

configuration_sets:
  - name: transactional

protect_configurations:
  - name: baseline
    configuration_sets: [transactional]
    rules:
      SMS:
        default: ALLOW
        BLOCK: [AU, NG, PK]
      VOICE:
        default: BLOCK
        ALLOW: [US, GB, CA]
  - name: strict
    rules:
      SMS:
        default: BLOCK
        ALLOW: [US, CA, GB]

shares:
  - name: partner-numbers
    principals: ["{PARTNER}"]
    allow_external_principals: true
    resources:
      - phone_number: "{TOLL_FREE}"

opt_out_lists:
  - name: marketing
    mode: exact
    numbers_file: numbers/marketing.txt
  - name: alerts
    numbers:
{"".join(f'      - "{n}"{chr(10)}' for n in ALERTS)}"""


def write_config(directory: Path) -> Path:
    """The policy directory (a policy file and the marketing numbers file)."""
    (directory / "numbers").mkdir(parents=True, exist_ok=True)
    (directory / "policy.yaml").write_text(POLICY, encoding="utf-8")
    lines = ["# marketing opt-outs", *KEPT_MANUAL, *NEW_MARKETING]
    (directory / "numbers" / "marketing.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return directory


def number_forms(number: str) -> set[str]:
    """Every common way of writing ``number``: E.164, digits only, national and international formats."""
    parsed = phonenumbers.parse(number, None)
    national = phonenumbers.national_significant_number(parsed)
    forms = {
        number,
        number[1:],
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL),
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.RFC3966),
    }
    if len(national) >= 10:
        forms.add(national)  # a bare 10-digit national number; shorter ones are too ambiguous to scan for
    return forms


def leaks(data: bytes | str, numbers: list[str] = ALL_OPTED_OUT) -> list[str]:
    """What ``data`` reveals: full opted-out numbers (any form) and credential values."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    found = []
    for number in numbers:
        for form in sorted(number_forms(number)):
            if form in text:
                found.append(f"opted-out number {number} written as {form!r}")
    for name, secret in (
        ("access key id", ACCESS_KEY_ID),
        ("secret access key", SECRET_ACCESS_KEY),
        ("session token", SESSION_TOKEN),
        ("secret access key (fragment)", SECRET_ACCESS_KEY[8:24]),
        ("session token (fragment)", SESSION_TOKEN[16:40]),
    ):
        if secret in text:
            found.append(f"{name}")
    return found


def cli_env(endpoint: str, *, session_token: bool, base: dict[str, str] | None = None, **extra: str) -> dict[str, str]:
    """The environment of a CLI run against the sandbox at ``endpoint``: the scenario's
    credentials, no AWS settings inherited from the machine, client-side rate limits off."""
    env = {k: v for k, v in (base if base is not None else os.environ).items() if not k.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID=ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        RECONCILER_RATE_SCALE="0",
        **extra,
    )
    if session_token:
        env["AWS_SESSION_TOKEN"] = SESSION_TOKEN
    return env
