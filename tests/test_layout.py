"""The package's shape: five layers that import only downwards, no import cycle, no module a reader cannot hold in mind."""

import ast
from pathlib import Path

import gridlib

PACKAGE = Path(gridlib.__file__).parent
# core -> measure -> studies -> book -> command line: a module imports from its own layer and the layers before it, never after
LAYERS = {
    "core": "checks files masks models esd sampling prompts concept_maps train_config train weights offline inversion reference toyworld",
    "measure": "stats judges measure fidelity settings",
    "studies": "studies runs experiments attacks results presets",
    "book": "tables study_tables check_tables attack_tables claims findings viz book glue",
    "command line": "arguments cli __main__",
}
LAYER_OF = {module: rank for rank, names in enumerate(LAYERS.values()) for module in names.split()}


def _imports(path: Path) -> set[str]:
    """The gridlib modules (first name under gridlib) a file imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level and path.parent == PACKAGE:
            found |= {node.module.split(".")[0]} if node.module else {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gridlib."):
            found.add(node.module.split(".")[1])
    return found


def _graph() -> dict[str, set[str]]:
    return {path.stem: _imports(path) - {path.stem} for path in PACKAGE.glob("*.py") if path.stem != "__init__"}


def test_every_module_belongs_to_one_layer_and_imports_only_downwards():
    graph = _graph()
    assert set(graph) | {"toyworld"} == set(LAYER_OF), "a new module needs a layer in LAYERS"
    upward = [(module, used) for module, uses in graph.items() for used in uses if LAYER_OF[used] > LAYER_OF[module]]
    assert not upward


def test_there_is_no_import_cycle():
    graph, done = _graph(), set()

    def visit(module, path):
        assert module not in path, " -> ".join([*path, module])
        if module not in done:
            for used in graph.get(module, ()):
                visit(used, [*path, module])
            done.add(module)

    for module in graph:
        visit(module, [])


def test_statistics_know_nothing_of_gridlib_and_no_module_is_over_300_lines():
    assert _imports(PACKAGE / "stats.py") == set()
    long = {path.name: n for path in PACKAGE.rglob("*.py") if (n := len(path.read_text().splitlines())) > 300}
    assert not long
