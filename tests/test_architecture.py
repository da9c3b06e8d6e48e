"""The layout's rules, checked on the code's own imports (module level, as Python runs them
at import time): dependencies flow one way, abmcrm.core ← tiers ← programs ← funnel ←
pipeline, and no two modules import each other in a circle. A Celery task importing its
service inside its body is the one sanctioned back-reference, and is not a module-level
import."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Each may import only those before it.
LAYERS = ["abmcrm.core", "tiers", "programs", "funnel", "pipeline", "inmarket", "webhooks",
          "plays"]
PACKAGES = {"abmcrm.core": ROOT / "abmcrm" / "core", "tiers": ROOT / "tiers",
            "programs": ROOT / "programs", "funnel": ROOT / "funnel",
            "pipeline": ROOT / "pipeline", "inmarket": ROOT / "inmarket",
            "webhooks": ROOT / "webhooks", "plays": ROOT / "plays"}


def _modules():
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            if "migrations" in path.parts:
                continue
            relative = path.relative_to(folder).with_suffix("")
            parts = [p for p in relative.parts if p != "__init__"]
            yield ".".join([package, *parts]), path


MODULES = dict(_modules())


def _module_level_imports(name, path):
    """The modules `name` imports when it is imported (not inside functions or classes)."""
    tree = ast.parse(path.read_text())
    is_package = path.name == "__init__.py"
    found = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base if is_package else base[:-1]
                base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return {m for m in found if m in MODULES}


GRAPH = {name: _module_level_imports(name, path) for name, path in MODULES.items()}


def _layer(module):
    return next(i for i, layer in enumerate(LAYERS) if module == layer
                or module.startswith(layer + "."))


@pytest.mark.parametrize("module", sorted(MODULES))
def test_nothing_imports_a_higher_app(module):
    upward = sorted(target for target in GRAPH[module] if _layer(target) > _layer(module))
    # The deprecated aliases in tiers only name core paths, so they pass too.
    assert not upward, f"{module} imports {upward}, which build on it"


def test_no_circle_of_module_level_imports():
    state, stack, circles = {}, [], []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(GRAPH[node]):
            # A package's __init__ importing its own submodules is how it re-exports them.
            if target.startswith(node + "."):
                continue
            if state.get(target) == "open":
                circles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = "done"

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)
    assert not circles, "import circles: " + "; ".join(" → ".join(c) for c in circles)


def _imports_anywhere(name, path):
    """The modules `name` imports, at module level or inside a function."""
    tree = ast.parse(path.read_text())
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = name.split(".")
            base = base if is_package else base[:-1]
            if node.level > 1:
                base = base[:len(base) - (node.level - 1)]
            module = ".".join([*base, *([node.module] if node.module else [])]) \
                if node.level else node.module
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return {m for m in found if m in MODULES}


def _is_tasks_module(module):
    return module.rsplit(".", 1)[-1] == "tasks"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if not _is_tasks_module(m)))
def test_only_the_app_config_imports_a_tasks_module(module):
    """A tasks module imports its services (in its tasks' bodies), so nothing else imports
    it, not even inside a function: a service publishes a task by name
    (`abmcrm.core.queueing.publish("app.tasks.name", …)`). Only an AppConfig may import
    its tasks module, to register the tasks."""
    if module.rsplit(".", 1)[-1] == "apps":
        return
    tasks = sorted(t for t in _imports_anywhere(module, MODULES[module]) if _is_tasks_module(t)
                   or _is_tasks_module(t.rsplit(".", 1)[0]))
    assert not tasks, f"{module} imports {tasks}: publish the task by name instead"


def test_no_fulfilment_spelling_left_in_code():
    spelled = [str(path.relative_to(ROOT)) for path in MODULES.values()
               if "fulfilment" in path.name]
    assert not spelled


CSV_WRITERS = {"writer", "DictWriter"}


def _csv_writer_uses(path):
    tree = ast.parse(path.read_text())
    uses = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr in CSV_WRITERS
                and isinstance(node.value, ast.Name) and node.value.id == "csv"):
            uses.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "csv" and any(
                alias.name in CSV_WRITERS for alias in node.names):
            uses.append(node.lineno)
    return uses


@pytest.mark.parametrize("module", sorted(MODULES))
def test_csv_is_written_only_through_the_safe_writer(module):
    """Every CSV export neutralises formula cells: it writes through
    `abmcrm.core.exports.csv_writer`, never `csv.writer` directly."""
    if module == "abmcrm.core.exports":
        return
    uses = _csv_writer_uses(MODULES[module])
    assert not uses, (f"{module} writes CSV with the csv module (line {uses}): use "
                      "abmcrm.core.exports.csv_writer")
