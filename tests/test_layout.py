"""The house rules of the layout (docs/architecture.md), checked on the source rather than trusted.

Components depend one way: ``common`` on none of the others, ``alerts`` and ``model_service`` only on
``common``, ``stream`` on all three; inside ``stream`` its parts depend one way too (``STREAM_LAYERS``).
No modules import each other in a cycle (not even inside functions), and no test module imports another
one (shared builders live in the ``tests/helpers`` package).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.helpers import ROOT

COMPONENTS = ("common", "alerts", "model_service", "stream")
MAY_IMPORT = {
    "common": set(),
    "alerts": {"common"},
    "model_service": {"common"},
    "stream": {"common", "alerts", "model_service"},
}


# The parts of ``stream``, lowest first: a part imports its own modules and lower layers' only, so two
# parts of one layer (the sources and the worker, say) never lean on each other.
STREAM_LAYERS = [
    {"stream.settings"},
    {"stream.windows", "stream.archive", "stream.topics", "stream.labels"},
    {"stream.lanes", "stream.prepare"},
    {"stream.routing"},
    {"stream.ingest", "stream.pipeline", "stream.replay", "stream.grafana"},
    {"stream.devstack"},
    {"stream.cli"},
]


def stream_part(module: str) -> str | None:
    """``stream.pipeline.classify`` -> ``stream.pipeline``; None outside stream."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "stream" and len(parts) > 1 else None


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> Iterator[str]:
    """Modules ``path`` imports, also inside functions (a lazy import still ties two modules)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def sources(*tops: str) -> list[Path]:
    return [path for top in tops for path in sorted((ROOT / top).rglob("*.py"))]


def test_components_depend_one_way() -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for component in COMPONENTS
        for path in sources(component)
        for name in imports(path)
        if name.split(".")[0] in set(COMPONENTS) - MAY_IMPORT[component] - {component}
    ]
    assert wrong == []


def test_the_parts_of_stream_depend_one_way() -> None:
    layer = {part: n for n, parts in enumerate(STREAM_LAYERS) for part in parts}
    found = {stream_part(module_name(path)) for path in sources("stream")} - {None}
    assert found == set(layer), f"parts without a layer: {sorted(found - set(layer))}"
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sources("stream")
        if (mine := stream_part(module_name(path))) is not None
        for name in imports(path)
        if (theirs := stream_part(name)) in layer and theirs != mine and layer[theirs] >= layer[mine]
    ]
    assert wrong == []


def test_no_import_cycle_not_even_inside_functions() -> None:
    modules = {module_name(path): path for path in sources(*COMPONENTS)}
    graph = {
        name: {imported for imported in imports(path) if imported in modules}
        for name, path in modules.items()
    }
    done: set[str] = set()

    def cycle_from(name: str, trail: list[str]) -> list[str] | None:
        if name in trail:
            return [*trail[trail.index(name) :], name]
        if name in done:
            return None
        for imported in sorted(graph[name]):
            if found := cycle_from(imported, [*trail, name]):
                return found
        done.add(name)
        return None

    cycles = [cycle for name in sorted(graph) if (cycle := cycle_from(name, []))]
    assert cycles == [], " -> ".join(cycles[0])


def test_test_modules_import_no_other_test_module() -> None:
    shared = {"tests.helpers"}
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / "tests").rglob("test_*.py"))
        for name in imports(path)
        if name.startswith("tests.") and not any(name == s or name.startswith(f"{s}.") for s in shared)
    ]
    assert wrong == []


def test_a_worker_leaves_the_model_libraries_to_its_model_process() -> None:
    """The worker's model runs in a child process: the worker itself importing PyTorch or transformers
    would cost every worker some 400 MiB for nothing."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, stream.pipeline.app; print(sorted(sys.modules))"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout.split("'")  # fmt: skip
    assert not {"torch", "transformers", "peft", "onnxruntime"} & set(loaded)
