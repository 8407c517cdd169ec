"""Security findings (grants outside git, ``Plan.security``) in words, for every report.

Each report shows them before anything else: a grant of the account's sending identities or
opt-out lists that nobody reviewed is what a reader must see first. Plain sentences; each report
escapes them for its medium.
"""

from __future__ import annotations

from typing import Any

from reconciler.report.area_report import finding_paths

TITLE = "Security: grants the policy does not declare"


def sentence(finding: dict[str, Any]) -> str:
    """"222222222222 can use phone_number +18885550100 (SendTextMessage) through a resource policy: …"."""
    actions = ", ".join(str(a).removeprefix("sms-voice:") for a in finding.get("actions") or [])
    what = f" ({actions})" if actions else ""
    path = finding_paths().get(str(finding.get("path")), str(finding.get("path")))
    return (f"{finding.get('principal')} can use {finding.get('resource')}{what} through a {path}: "
            f"{finding.get('detail')}")


def count(plans: Any) -> int:
    return sum(len(getattr(plan, "security", []) or []) for plan in plans)
