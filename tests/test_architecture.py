"""The dependency rules of the design (shared/design/architecture.md, "Layout: folders are the
web, files are the rules"), read from the imports of every module with `ast`, so that a wrong
import fails CI instead of waiting for a reviewer:

1. a module at the top of `clinic/` (a rule) never imports an audience package, `clinic.web`,
   WTForms or Flask-WTF, nor Flask's page tools (render_template, redirect, url_for, flash,
   abort, Blueprint);
2. audiences never import each other, and `clinic.web` imports no audience;
3. inside an audience, views (area modules) leave queries to loaders and rule functions: they
   never import SQLAlchemy;
4. the rules import downward only, layer by layer, with no circle.

The factory (`clinic/__init__.py`) is the one module that may import everything."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "clinic"
AUDIENCES = ("auth", "therapist", "client", "admin", "health")  # health: load balancers
PAGE_TOOLS = {"render_template", "redirect", "url_for", "flash", "abort", "Blueprint"}

# Rule 4: each rule module's layer; a module imports only modules of its own layer or below,
# and modules of one layer never import each other in a circle. Lowest first.
LAYERS: list[tuple[str, ...]] = [
    ("errors", "crypto", "db", "models", "timeutil", "mail", "audit", "library", "measures"),
    ("text", "answers", "charts", "pdf", "backup", "throttle", "logs"),
    (
        "schema",
        "keycheck",
        "preflight",
    ),  # clinic.cli's guard, `doctor` and /readyz: where the schema stands
    ("accounts", "mfa", "plans", "alerts", "erasure", "episodes", "tracking"),
    ("questionnaires", "goals"),
    ("notes",),
    ("dashboard", "progress", "weeks", "reports", "fhir", "exports"),
    ("notifications",),
    ("demo", "cli"),
]
LAYER_OF = {name: i for i, names in enumerate(LAYERS) for name in names}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[tuple[str, str | None]]:
    """(module, name) pairs a file imports anywhere in it (also inside functions), with
    relative imports resolved; name is None for `import x`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    found: set[tuple[str, str | None]] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {(alias.name, None) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # `from clinic import plans` imports the module clinic.plans
                candidate = f"{base}.{alias.name}"
                if (PACKAGE.parent / Path(*candidate.split("."))).with_suffix(".py").exists() or (
                    PACKAGE.parent / Path(*candidate.split(".")) / "__init__.py"
                ).exists():
                    found.add((candidate, None))
                else:
                    found.add((base, alias.name))
    return found


def all_modules() -> dict[str, set[tuple[str, str | None]]]:
    return {module_name(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


def top_of(module: str) -> str | None:
    """The first part under clinic ('plans', 'therapist', 'web'), or None for the factory."""
    parts = module.split(".")
    return parts[1] if parts[0] == "clinic" and len(parts) > 1 else None


def is_rule(module: str) -> bool:
    """A rule module, or a module of a rule package (clinic.notifications.planning)."""
    return top_of(module) not in (None, *AUDIENCES, "web")


MODULES = all_modules()


def test_the_rules_know_nothing_of_the_web_or_of_forms():
    wrong = []
    for module, imported in MODULES.items():
        if not is_rule(module):
            continue
        for target, name in imported:
            if top_of(target) in (*AUDIENCES, "web") or target.split(".")[0] in (
                "wtforms",
                "flask_wtf",
            ):
                wrong.append(f"{module} imports {target}")
            elif target == "flask" and name in PAGE_TOOLS:
                wrong.append(f"{module} imports flask.{name}")
    assert not wrong, "\n".join(sorted(wrong))


def test_audiences_never_import_each_other_and_web_imports_none():
    wrong = []
    for module, imported in MODULES.items():
        home = top_of(module)
        if home not in (*AUDIENCES, "web"):
            continue
        for target, _ in imported:
            there = top_of(target)
            if there in AUDIENCES and there != home:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "\n".join(sorted(wrong))


def test_views_leave_queries_to_loaders_and_rules():
    wrong = []
    for module, imported in MODULES.items():
        parts = module.split(".")
        if len(parts) != 3 or parts[1] not in AUDIENCES or parts[2] in ("blueprint", "forms"):
            continue
        wrong += [f"{module} imports {t}" for t, _ in imported if t.split(".")[0] == "sqlalchemy"]
    assert not wrong, "\n".join(sorted(wrong))


def test_every_rule_module_has_a_layer():
    rules = {top_of(m) for m in MODULES if is_rule(m)} - {"content"}
    assert rules == set(LAYER_OF), (
        f"give these a layer in LAYERS: {sorted(rules - set(LAYER_OF))}; "
        f"these are gone: {sorted(set(LAYER_OF) - rules)}"
    )


def rule_edges() -> set[tuple[str, str]]:
    edges = set()
    for module, imported in MODULES.items():
        if not is_rule(module):
            continue
        for target, _ in imported:
            if top_of(target) in LAYER_OF and top_of(target) != top_of(module):
                edges.add((top_of(module), top_of(target)))  # type: ignore[arg-type]
    return edges


def test_the_rules_import_downward_only():
    upward = [
        f"{a} (layer {LAYER_OF[a]}) imports {b} (layer {LAYER_OF[b]})"
        for a, b in sorted(rule_edges())
        if LAYER_OF[b] > LAYER_OF[a]
    ]
    assert not upward, "\n".join(upward)


def find_circle(edges: set[tuple[str, str]]) -> list[str] | None:
    graph: dict[str, list[str]] = {}
    for a, b in sorted(edges):
        graph.setdefault(a, []).append(b)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_circle_among_the_rules():
    circle = find_circle(rule_edges())
    assert circle is None, " -> ".join(circle or [])


@pytest.mark.parametrize(
    ("edges", "expected"),
    [
        ({("a", "b"), ("b", "c")}, None),
        ({("a", "b"), ("b", "c"), ("c", "a")}, ["a", "b", "c", "a"]),
    ],
)
def test_the_circle_finder_finds_circles(edges, expected):
    assert find_circle(edges) == expected


def test_the_checks_see_relative_and_function_level_imports():
    """The reader resolves `from .. import x` and imports inside functions; without that every
    rule above would pass vacuously."""
    targets = {target for target, _ in MODULES["clinic.therapist.blueprint"]}
    assert {"clinic.web.gates", "clinic.plans", "clinic.models"} <= targets
    assert ("clinic.pdf", None) in MODULES["clinic.charts"]  # imported inside a function
    assert ("flask", "Blueprint") in MODULES["clinic.therapist.blueprint"]
