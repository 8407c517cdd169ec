"""The guardrail rules and their findings (plain data, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Verdict = Literal["deny", "warn", "needs-approval"]
VERDICT_ORDER: tuple[Verdict, ...] = ("deny", "needs-approval", "warn")  # most severe first

# The effects a rule can look at, and the `when` filters each accepts (besides targets, more_than).
COUNTRY_EFFECTS: dict[str, frozenset[str]] = {
    "countries_newly_reachable": frozenset({"newly-reachable"}),
    "countries_less_screened": frozenset({"less-screened"}),
    "countries_newly_blocked": frozenset({"newly-blocked"}),
    "countries_newly_screened": frozenset({"newly-screened"}),
    "countries_changed": frozenset({"newly-reachable", "less-screened", "newly-blocked", "newly-screened"}),
}
OVERRIDES = "overrides_opening_blocked_countries"
OPT_OUT_COVERAGE = "end_user_opt_out_coverage_lost"
EXTERNAL_PRINCIPALS = "external_principals"
FILTERS: dict[str, frozenset[str]] = {
    **{effect: frozenset({"capability", "countries_in"}) for effect in COUNTRY_EFFECTS},
    OVERRIDES: frozenset({"countries_in"}),
    OPT_OUT_COVERAGE: frozenset(),
    EXTERNAL_PRINCIPALS: frozenset(),
}
# The plan areas whose live state an effect is computed from: a plan that did not read them
# (an `--only` plan) cannot tell, and the rule is an error rather than a pass.
INPUT_AREAS: dict[str, tuple[str, ...]] = {
    **{effect: ("protect",) for effect in COUNTRY_EFFECTS},
    OVERRIDES: ("protect",),
    OPT_OUT_COVERAGE: ("phone_numbers", "opt_outs"),
    EXTERNAL_PRINCIPALS: ("shares",),
}


@dataclass(frozen=True)
class Rule:
    name: str
    effect: str
    verdict: Verdict
    approver: str | None = None  # "org/team-slug" or "@login" for needs-approval
    description: str = ""
    capabilities: frozenset[str] | None = None  # None: every capability
    countries: frozenset[str] | None = None  # the countries_in list's members; None: any country
    countries_in: str | None = None  # the list's name, for messages
    targets: frozenset[str] | None = None  # None: every target
    more_than: int = 0


@dataclass(frozen=True)
class Guardrails:
    rules: tuple[Rule, ...]
    file: str = ""


@dataclass(frozen=True)
class Finding:
    """One rule that fired: its verdict and what in the plans made it fire."""

    rule: Rule
    count: int
    details: tuple[str, ...]  # one sentence per target, counts only (no phone numbers)
    exempt: str | None = None  # why a needs-approval does not apply (an emergency block)

    @property
    def verdict(self) -> Verdict:
        return self.rule.verdict

    @property
    def waits_for_approval(self) -> bool:
        return self.rule.verdict == "needs-approval" and self.exempt is None


@dataclass
class Evaluation:
    findings: list[Finding] = field(default_factory=list)
    rules: int = 0  # how many rules were evaluated

    @property
    def denied(self) -> list[Finding]:
        return [f for f in self.findings if f.verdict == "deny"]

    @property
    def approvals(self) -> list[Finding]:
        return [f for f in self.findings if f.waits_for_approval]

    def exit_code(self, approved: frozenset[str] = frozenset()) -> int:
        """1 when a rule denies, 2 when a needs-approval rule is not in ``approved``, else 0."""
        if self.denied:
            return 1
        if any(f.rule.name not in approved for f in self.approvals):
            return 2
        return 0
