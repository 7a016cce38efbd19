"""Apps import only from lower floors (docs/architecture.md).

Every `import` in apps/ is read with ast (module level, inside functions, under TYPE_CHECKING;
relative imports resolved; migrations skipped) and checked against the floors table in
docs/architecture.md. An import the table forbids fails here, unless it is listed in
TEMPORARY_EXCEPTIONS; a listed exception that no longer occurs fails too, so the list only shrinks.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARCHITECTURE = ROOT / "docs" / "architecture.md"

# Imports that break the floors today, file → modules, each with its reason and fix in
# docs/architecture.md ("Temporary exceptions"). Remove a line when its import is gone; never add
# one without adding it there too.
TEMPORARY_EXCEPTIONS: dict[str, set[str]] = {}


def read_floors(text: str) -> tuple[dict[str, int], set[frozenset[str]]]:
    """{app: floor} from the table's rows (`| 3 | `app`, `app` | ...`), and the same-floor pairs
    from the line "Same-floor pairs allowed: `a` ↔ `b`, ..."."""
    floors: dict[str, int] = {}
    for floor, apps in re.findall(r"^\|\s*(\d+)\s*\|([^|]*)\|", text, flags=re.MULTILINE):
        for app in re.findall(r"`(\w+)`", apps):
            assert app not in floors, f"{app} is on two floors in docs/architecture.md"
            floors[app] = int(floor)
    line = re.search(r"^Same-floor pairs allowed:(.*)$", text, flags=re.MULTILINE)
    pairs = set()
    if line is not None:
        pairs = {frozenset(pair) for pair in re.findall(r"`(\w+)` ↔ `(\w+)`", line.group(1))}
    return floors, pairs


def imported_modules(path: Path, module: str) -> Iterator[tuple[int, str]]:
    """(line, absolute module) for every import in the file, wherever it is written."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*parent, *([node.module] if node.module else [])])
            # `from apps import status` (or `from .. import status`) names the app in `names`.
            names = [f"{base}.{alias.name}" for alias in node.names] if base == "apps" else [base]
            for name in names:
                yield node.lineno, name


def app_imports(root: Path) -> Iterator[tuple[str, int, str, str, str]]:
    """(file, line, importing app, imported app, module) for each import of another app."""
    for path in sorted((root / "apps").rglob("*.py")):
        relative = path.relative_to(root)
        if "migrations" in relative.parts or len(relative.parts) < 3:
            continue
        module = ".".join(relative.with_suffix("").parts)
        app = relative.parts[1]
        for line, imported in imported_modules(path, module):
            parts = imported.split(".")
            if parts[0] == "apps" and len(parts) > 1 and parts[1] != app:
                yield relative.as_posix(), line, app, parts[1], imported


def allowed(app: str, other: str, floors: dict[str, int], pairs: set[frozenset[str]]) -> bool:
    return floors[other] < floors[app] or frozenset({app, other}) in pairs


def forbidden_imports(root: Path) -> list[tuple[str, int, str]]:
    """(file, line, module) for each import the floors table does not allow."""
    floors, pairs = read_floors((root / "docs" / "architecture.md").read_text())
    return [
        (file, line, module)
        for file, line, app, other, module in app_imports(root)
        if not allowed(app, other, floors, pairs)
    ]


def test_every_app_stands_on_a_floor():
    floors, _ = read_floors(ARCHITECTURE.read_text())
    apps = {path.parent.name for path in (ROOT / "apps").glob("*/__init__.py")}
    assert apps - floors.keys() == set(), "put these apps on a floor in docs/architecture.md"
    assert floors.keys() - apps == set(), "these apps in docs/architecture.md do not exist"


def test_the_floors_are_the_documented_ones():
    floors, pairs = read_floors(ARCHITECTURE.read_text())
    assert floors["core"] == 0
    assert floors["api"] == 1
    assert floors["accounts"] == floors["organizations"] == 2
    assert floors["notifications"] < floors["status"] < floors["incidents"]
    assert floors["incidents"] < floors["integrations"] == floors["forum"] < floors["demo"]
    assert floors["public"] == floors["integrations"]
    assert pairs == {frozenset({"accounts", "organizations"}), frozenset({"public", "forum"})}


def test_apps_import_only_from_lower_floors():
    unexpected = [
        f"{file}:{line} imports {module}"
        for file, line, module in forbidden_imports(ROOT)
        if module not in TEMPORARY_EXCEPTIONS.get(file, set())
    ]
    assert unexpected == [], "imports the floors in docs/architecture.md forbid:\n" + "\n".join(
        unexpected
    )


def test_every_temporary_exception_still_occurs():
    found = {(file, module) for file, _, module in forbidden_imports(ROOT)}
    stale = [
        f"{file}: {module}"
        for file, modules in TEMPORARY_EXCEPTIONS.items()
        for module in sorted(modules)
        if (file, module) not in found
    ]
    assert stale == [], "fixed: remove from TEMPORARY_EXCEPTIONS (and the docs):\n" + "\n".join(
        stale
    )


def test_no_two_apps_import_each_other_beyond_the_allowed_pair_and_the_exceptions():
    _, pairs = read_floors(ARCHITECTURE.read_text())
    edges = {
        (app, other)
        for file, _, app, other, module in app_imports(ROOT)
        if module not in TEMPORARY_EXCEPTIONS.get(file, set())
    }
    mutual = {frozenset(edge) for edge in edges if edge[::-1] in edges}
    assert sorted(" <-> ".join(sorted(pair)) for pair in mutual - pairs) == []


def test_the_walk_sees_imports_inside_functions_relative_ones_and_from_apps(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "architecture.md").write_text("| 1 | `high` |\n| 0 | `low` |\n")
    for app in ("low", "high"):
        (tmp_path / "apps" / app / "sub").mkdir(parents=True)
        (tmp_path / "apps" / app / "__init__.py").write_text("")
    (tmp_path / "apps" / "high" / "views.py").write_text("from apps.low import models\n")
    (tmp_path / "apps" / "low" / "models.py").write_text("def f():\n    import apps.high.views\n")
    (tmp_path / "apps" / "low" / "sub" / "x.py").write_text(
        "from ... import high\nfrom ...high.views import y\nfrom apps import high\n"
        "from . import z\nfrom ..models import f\n"
    )
    (tmp_path / "apps" / "low" / "migrations").mkdir()
    (tmp_path / "apps" / "low" / "migrations" / "0001.py").write_text("import apps.high\n")

    assert forbidden_imports(tmp_path) == [
        ("apps/low/models.py", 2, "apps.high.views"),
        ("apps/low/sub/x.py", 1, "apps.high"),
        ("apps/low/sub/x.py", 2, "apps.high.views"),
        ("apps/low/sub/x.py", 3, "apps.high"),
    ]
