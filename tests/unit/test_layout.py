"""One package per concern, and no import circles in src/ (counting imports inside
functions too: a circle hidden in a function is still a circle)."""
import ast
import pathlib

SRC = pathlib.Path(__file__).resolve().parents[2] / "src"


def import_graph() -> dict:
    """module -> the archive modules it imports."""
    mods = {}
    for path in SRC.rglob("*.py"):
        name = ".".join(path.relative_to(SRC).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = path
    graph = {m: set() for m in mods}
    for module, path in mods.items():
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                subs = [f"{target}.{a.name}" for a in node.names]
                found = subs if all(s in mods for s in subs) else [target, *subs]
            elif isinstance(node, ast.Import):
                found = [a.name for a in node.names]
            else:
                continue
            graph[module].update(f for f in found if f in mods and f != module)
    return graph


def circles(graph) -> list:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))
    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_circles():
    assert circles(import_graph()) == []


def test_the_finder_sees_a_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_top_level_keeps_only_the_app_root_evolve_cli_i18n_and_store():
    top = {p.stem for p in (SRC / "archive").glob("*.py")}
    assert top == {"__init__", "root", "evolve", "cli", "i18n", "store"}


def test_old_module_names_still_import_as_the_new_modules():
    import importlib

    from archive.evolve import MOVED
    for old, new in MOVED.items():
        assert importlib.import_module(old) is importlib.import_module(new)
