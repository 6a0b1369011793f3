"""The shape of the code, held by a test: no import circles in `app/`, a core that imports nothing
of the rest of the app, and a sandbox that imitates the outside world without knowing pitcrew.

Every import counts as an edge, wherever it is written: at the top of a module, inside a function,
or under `if TYPE_CHECKING:`. An import moved into a function to dodge a circle still ties the two
modules together (each needs the other to be read), so it is a circle all the same.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app"


def _modules(root: Path) -> dict[str, Path]:
    modules = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The module of `app` an imported name lives in (`app.x.y.Name` -> `app.x.y`), or None outside `app`."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(root: Path = APP) -> dict[str, set[str]]:
    """module -> the modules of `app` it imports, from every import statement anywhere in it."""
    modules = _modules(root)
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    origin = ".".join(base + ([node.module] if node.module else []))
                else:
                    origin = node.module or ""
                names = [origin] + [f"{origin}.{alias.name}" for alias in node.names]
            else:
                continue
            edges.update(r for n in names if (r := _resolve(n, modules)) and r != module)
        graph[module] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def crossings(graph: dict[str, set[str]], sources: tuple[str, ...], targets: tuple[str, ...]) -> list[str]:
    """Every import from a module inside one of `sources` into one inside `targets`, as "a -> b"."""
    return sorted(
        f"{a} -> {b}"
        for a, imported in graph.items()
        if any(_inside(a, source) for source in sources)
        for b in imported
        if any(_inside(b, target) for target in targets)
    )


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def test_no_import_circles(graph: dict[str, set[str]]) -> None:
    circles = cycles(graph)
    described = [
        ", ".join(f"{a} -> {b}" for a in circle for b in sorted(graph[a]) if b in circle) for circle in circles
    ]
    assert not circles, "import circles in app/:\n" + "\n".join(described)


def test_core_imports_nothing_of_the_rest_of_the_app(graph: dict[str, set[str]]) -> None:
    wrong = sorted(
        f"{a} -> {b}"
        for a, targets in graph.items()
        if _inside(a, "app.core")
        for b in targets
        if not _inside(b, "app.core") and b != "app"
    )
    assert not wrong, "app/core/ must import only app/core/:\n" + "\n".join(wrong)


# What the sandbox imitates (Slack, Railway, Vercel, UptimeRobot, a sample service) knows nothing of
# pitcrew's insides; only the demo (`app/demo/`), which drives pitcrew and checks it, may use both.
PITCREW_INSIDES = (
    "app.core", "app.flows", "app.slack", "app.store", "app.jobs", "app.providers", "app.console", "app.web",
    "app.webhooks", "app.demo",
)


def test_sandbox_knows_nothing_of_pitcrew(graph: dict[str, set[str]]) -> None:
    wrong = crossings(graph, ("app.sandbox",), PITCREW_INSIDES)
    assert not wrong, "app/sandbox/ imitates the outside world and must not import pitcrew's insides:\n" + (
        "\n".join(wrong)
    )


def test_core_and_flows_know_nothing_of_the_sandbox_or_the_demo(graph: dict[str, set[str]]) -> None:
    wrong = crossings(graph, ("app.core", "app.flows"), ("app.sandbox", "app.demo"))
    assert not wrong, "app/core/ and app/flows/ must not import app/sandbox/ or app/demo/:\n" + "\n".join(wrong)


# The renderers and the console present the result objects a flow returns; what they show comes from
# the flow or the core. An edge that reached a provider or the store itself would do a flow's work
# (and tie a Block Kit layout to a database driver).
PRESENTERS = ("app.slack.render", "app.console")
BEHIND_THE_FLOWS = ("app.providers", "app.store")


def presenters_reaching_past_the_flows(graph: dict[str, set[str]]) -> list[str]:
    return crossings(graph, PRESENTERS, BEHIND_THE_FLOWS)


EDGES = ("app.slack", "app.web", "app.webhooks", "app.drains", "app.status_page", "app.console", "app.cli")


def test_flows_know_no_edge(graph: dict[str, set[str]]) -> None:
    """A flow serves Slack, the console, a webhook and a job alike (DESIGN.md): it imports none of them."""
    wrong = crossings(graph, ("app.flows",), EDGES)
    assert not wrong, "app/flows/ must not import an edge (Slack, web, console, cli):\n" + "\n".join(wrong)


def test_renderers_and_console_go_through_a_flow(graph: dict[str, set[str]]) -> None:
    wrong = presenters_reaching_past_the_flows(graph)
    assert not wrong, "app/slack/render/ and app/console/ must not import app/providers/ or app/store/:\n" + (
        "\n".join(wrong)
    )


# The checker itself must see what it is meant to see: a circle through a function-level import,
# a relative import, an import under TYPE_CHECKING.
def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "app"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for directory in [root, *[p for p in root.rglob("*") if p.is_dir()]]:
        (directory / "__init__.py").touch()
    return root


def test_a_circle_through_a_function_level_import_is_found(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "cli.py": "from app.check import run\n",
            "check.py": "def run():\n    from app.cli import helper\n",
        },
    )
    assert cycles(import_graph(root)) == [["app.check", "app.cli"]]


def test_relative_and_type_checking_imports_are_edges(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "slack/mentions.py": "from .commands import incident\n",
            "slack/commands/incident.py": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from ..mentions import Mention\n",
        },
    )
    graph = import_graph(root)
    assert "app.slack.commands.incident" in graph["app.slack.mentions"]
    assert cycles(graph) == [["app.slack.commands.incident", "app.slack.mentions"]]


def test_an_acyclic_tree_has_no_circles(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"a.py": "import app.b\n", "b.py": "from app import c\n", "c.py": ""})
    assert cycles(import_graph(root)) == []


def test_a_renderer_or_console_importing_a_provider_or_the_store_is_found(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "providers/postgres.py": "class SlowQueries: ...\n",
            "store/audit.py": "",
            "core/observations.py": "",
            "flows/logs.py": "from app.providers.postgres import SlowQueries\n",
            "slack/render/logs.py": "from app.providers.postgres import SlowQueries\nfrom app.flows import logs\n",
            "slack/render/audit.py": "from app.core.observations import X\n",
            "console/session.py": "def run():\n    from app import store\n",
        },
    )
    assert presenters_reaching_past_the_flows(import_graph(root)) == [
        "app.console.session -> app.store",
        "app.slack.render.logs -> app.providers.postgres",
    ]
