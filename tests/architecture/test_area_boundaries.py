"""Each policy area's names live in its own package (issue: one package per policy area).

An area's spec types (the public names of ``reconciler/areas/<area>/spec.py``), its diagnostic
codes (``PolicySection.codes``) and its resource types (``Area.resource_types``) may appear only in
``reconciler/areas/<area>/``, in other area packages that declare a dependency on it (a share
names the resources it shares), and in tests. Generic modules that still name an area are listed
in ``EXCEPTIONS`` with the reason; the test fails on any other occurrence (with its file:line) and
on an exception that no longer occurs, so the list only shrinks.

Generic modules reach an area through the registry and the hooks it declares (``Area``, its feed
module's ``touches``/``REFRESHER``, its ``IMPORTER``), never by importing its package: the imports
that remain are listed in ``IMPORT_EXCEPTIONS`` with the reason, checked the same way.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

from reconciler.areas.base import registry

ROOT = Path(__file__).resolve().parents[2] / "reconciler"
# The sandbox emulates AWS (it is not the product) and knows AWS's resource kinds by design.
OUT_OF_SCOPE = (ROOT / "sandbox",)

# Generic module (relative to reconciler/) -> (the area names it still uses, why).
EXCEPTIONS: dict[str, tuple[frozenset[str], str]] = {
    "config/model.py": (
        frozenset({"PhoneNumberSpec", "PoolSpec", "SenderIdSpec", "ConfigurationSetSpec", "ProtectConfigurationSpec",
                   "EmergencyBlock", "OptOutListSpec", "ShareSpec", "ResourcePolicySpec"}),
        "Desired's typed fields are the areas' sections (annotations only, imported under TYPE_CHECKING), so "
        "mypy checks the areas' use of them; the loader fills them generically by section name",
    ),
    "effects/summary.py": (
        frozenset({"CAPABILITIES", "account-default", "configuration-set-association", "country-rules",
                   "number-override", "protect-configuration"}),
        "the plan's effect summary models send paths across areas (identities through protect configurations)",
    ),
    "effects/opt_out_reach.py": (
        frozenset({"phone-number", "pool", "sender-id"}),
        "the opt-out reach model spans areas by nature: identities (phone_numbers) reaching lists (opt_outs)",
    ),
    "effects/send_grants.py": (
        frozenset({"phone-number", "pool", "sender-id", "opt-out-list", "resource-share", "share-principal",
                   "share-resource"}),
        "who can use which identity spans both sharing paths by nature: RAM shares (shares) and resource "
        "policies (resource_policies), each change of either applied to the live grants",
    ),
}

# Generic module (relative to reconciler/) -> (the area modules it imports by name, why).
IMPORT_EXCEPTIONS: dict[str, tuple[frozenset[str], str]] = {
    "config/model.py": (
        frozenset({"reconciler.areas.opt_outs.spec", "reconciler.areas.phone_numbers.spec",
                   "reconciler.areas.protect.spec", "reconciler.areas.resource_policies.spec",
                   "reconciler.areas.shares.spec"}),
        "Desired's typed fields are the areas' spec types, imported under TYPE_CHECKING only (see EXCEPTIONS)",
    ),
    "effects/plan_effects.py": (
        frozenset({"reconciler.areas.opt_outs.carry"}),
        "the plan's effects model how end-user opt-outs follow identities across areas, as the carry computes it",
    ),
    "effects/send_grants.py": (
        frozenset({"reconciler.areas.resource_policies.language"}),
        "who can use which identity spans RAM shares and resource policies: it parses the policies' grant language",
    ),
}


def area_names() -> dict[str, set[str]]:
    names: dict[str, set[str]] = {}
    for area, cls in registry().items():
        package = cls.__module__.rsplit(".", 1)[0]
        spec = importlib.import_module(f"{package}.spec")
        own = {n for n, v in vars(spec).items() if not n.startswith("_") and getattr(v, "__module__", spec.__name__) == spec.__name__}
        own |= {n for n in vars(spec) if n.isupper() and not n.startswith("_")}
        codes = set(cls.section.codes) if cls.section is not None else set()
        names[area] = own | codes | set(cls.resource_types)
    return names


def occurrences() -> dict[tuple[str, str], list[str]]:
    """(file, name) -> the lines of generic modules where an area's name occurs."""
    packages = {ROOT / "areas" / area for area in registry()}
    found: dict[tuple[str, str], list[str]] = {}
    patterns = {}
    for names in area_names().values():
        for name in names:
            # Identifiers as words; codes and resource types as quoted strings.
            patterns[name] = re.compile(rf"\b{re.escape(name)}\b" if "-" not in name and name[0].isupper() else rf"[\"']{re.escape(name)}[\"']")
    for path in sorted(ROOT.rglob("*.py")):
        if any(path.is_relative_to(p) for p in (*packages, *OUT_OF_SCOPE)):
            continue
        rel = str(path.relative_to(ROOT))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for name, pattern in patterns.items():
                if pattern.search(line):
                    found.setdefault((rel, name), []).append(f"reconciler/{rel}:{number}: {line.strip()}")
    return found


def imported_areas(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every import of an area's package in ``tree`` (``import
    reconciler.areas.<area>…``, ``from reconciler.areas.<area>… import``, ``from reconciler.areas
    import <area>``), wherever it stands (in a function, under TYPE_CHECKING)."""
    areas = set(registry())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == "reconciler.areas":
            modules = [f"reconciler.areas.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        else:
            continue
        for module in modules:
            parts = module.split(".")
            if parts[:2] == ["reconciler", "areas"] and len(parts) > 2 and parts[2] in areas:
                found.append((node.lineno, module))
    return sorted(found)


def area_imports() -> dict[tuple[str, str], list[str]]:
    """(file, area module) -> the lines of generic modules that import it."""
    packages = {ROOT / "areas" / area for area in registry()}
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        if any(path.is_relative_to(p) for p in (*packages, *OUT_OF_SCOPE)):
            continue
        rel = str(path.relative_to(ROOT))
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for number, module in imported_areas(ast.parse(source, str(path))):
            found.setdefault((rel, module), []).append(f"reconciler/{rel}:{number}: {lines[number - 1].strip()}")
    return found


def test_area_names_stay_in_their_packages() -> None:
    found = occurrences()
    leaks = [
        line
        for (file, name), lines in sorted(found.items())
        if name not in EXCEPTIONS.get(file, (frozenset(), ""))[0]
        for line in lines
    ]
    assert leaks == [], "an area's name outside its package (move the code into the area, or document why):\n" + "\n".join(leaks)


def test_every_documented_exception_still_occurs() -> None:
    found = occurrences()
    stale = sorted((file, name) for file, (names, _) in EXCEPTIONS.items() for name in names if (file, name) not in found)
    assert stale == [], f"no longer needed, remove from EXCEPTIONS: {stale}"


def test_the_scan_sees_a_leak() -> None:
    """The scanner is not blind: every area has spec types, codes and resource types, and the
    documented uses in generic code are found where they are."""
    names = area_names()
    assert {"ShareSpec", "share-incomplete", "resource-share"} <= names["shares"]
    assert {"OptOutListSpec", "opt-out-list-limit", "opted-out-number"} <= names["opt_outs"]
    assert ("config/model.py", "ShareSpec") in occurrences()


def test_generic_modules_import_no_area_package() -> None:
    found = area_imports()
    leaks = [
        line
        for (file, module), lines in sorted(found.items())
        if module not in IMPORT_EXCEPTIONS.get(file, (frozenset(), ""))[0]
        for line in lines
    ]
    assert leaks == [], "a generic module imports an area's package (declare a hook on Area or in the area's " \
                        "feed module and reach it through the registry, or document why):\n" + "\n".join(leaks)


def test_every_documented_import_exception_still_occurs() -> None:
    found = area_imports()
    stale = sorted((file, module) for file, (modules, _) in IMPORT_EXCEPTIONS.items() for module in modules
                   if (file, module) not in found)
    assert stale == [], f"no longer imported, remove from IMPORT_EXCEPTIONS: {stale}"


def test_the_import_scan_sees_every_form() -> None:
    """The import scanner is not blind: TYPE_CHECKING imports are found, and every spelling of an
    area import is recognised while generic ``reconciler.areas`` modules are not."""
    assert ("config/model.py", "reconciler.areas.shares.spec") in area_imports()
    tree = ast.parse("import reconciler.areas.shares.area\nfrom reconciler.areas import protect, base\n"
                     "from reconciler.areas.opt_outs.carry import X\nfrom reconciler.areas.base import registry\n")
    assert imported_areas(tree) == [(1, "reconciler.areas.shares.area"), (2, "reconciler.areas.protect"),
                                    (3, "reconciler.areas.opt_outs.carry")]
