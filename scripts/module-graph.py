#!/usr/bin/env python3
"""The server's module graph, checked against the layering of docs/ARCHITECTURE.md.

Reads every `backend/src/**/*.rs` (tests modules and doc comments left out), finds which
files each one uses (`crate::a::b`, `super::x`, `use` lists), and reports:

- the import cycles between files (strongly connected components of two or more), and
  the size of the largest;
- every import that runs upwards: `startup`, `cli`, `http` and `state` may be imported
  only by `main`/`lib`/each other (and `state` by `http`), a feature's `routes.rs` only by
  `http`, and the infrastructure modules import no feature.

    scripts/module-graph.py            # report; exit 1 on a cycle or an upward import
    scripts/module-graph.py --quiet    # one summary line

`scripts/test.sh` runs it. It reads text, so a name used through a path it does not
resolve is not an edge: open the files it names before believing it.
"""

import os
import re
import sys
from collections import defaultdict

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "backend", "src")

# The top: imported by nobody but main/lib (and among themselves as noted).
TOP = {"main", "lib", "startup", "cli", "http", "state"}
ALLOWED_TOP_IMPORTERS = {
    "startup": {"main", "lib"},
    "cli": {"main", "lib"},
    "http": {"main", "lib", "startup"},
    "state": {"main", "lib", "startup", "http"},
}
FEATURES = {"auth", "account", "envelope", "directory", "addin", "health"}
INFRA = {
    "app_credential", "audit", "client", "clock", "config", "crypto", "db", "entity",
    "error", "fr", "http_client", "keys", "mail", "manifest", "metrics", "openapi", "migration",
    "storage", "taskpane", "telemetry", "tls", "web",
}


def module_of(path):
    rel = os.path.relpath(path, ROOT)[:-3]
    parts = rel.split(os.sep)
    if parts[-1] == "mod":
        parts = parts[:-1]
    return "::".join(parts)


def strip(text):
    text = re.sub(r"#\[cfg\(test\)\]\s*mod tests\s*\{.*", "", text, flags=re.S)
    lines = [l for l in text.splitlines() if not l.lstrip().startswith("//")]
    return "\n".join(lines)


def main():
    quiet = "--quiet" in sys.argv
    files = {}
    for base, _, names in os.walk(ROOT):
        for name in names:
            if name.endswith(".rs"):
                path = os.path.join(base, name)
                files[module_of(path)] = strip(open(path, encoding="utf-8").read())
    modules = set(files)

    def resolve(path):
        """The longest known module prefix of `a::b::c`."""
        parts = path.split("::")
        for n in range(len(parts), 0, -1):
            candidate = "::".join(parts[:n])
            if candidate in modules:
                return candidate
        return None

    edges = defaultdict(set)
    for mod, text in files.items():
        here = mod.split("::") if mod else []
        is_dir_mod = os.path.exists(os.path.join(ROOT, *here, "mod.rs")) if here else True
        parent = here if is_dir_mod else here[:-1]
        refs = []
        for m in re.finditer(r"\bcrate::((?:[a-z_][a-z0-9_]*::)*[a-z_][a-z0-9_]*)", text):
            refs.append(m.group(1))
        for m in re.finditer(r"\bsuper::((?:[a-z_][a-z0-9_]*::)*[a-z_][a-z0-9_]*)", text):
            base = parent[:-1] if is_dir_mod else parent
            refs.append("::".join(base + [m.group(1)]))
        # `use crate::x::{a, b::c}` lists
        for m in re.finditer(r"\b(crate|super)::((?:[a-z_][a-z0-9_]*::)*)\{([^}]*)\}", text):
            prefix = m.group(2)
            if m.group(1) == "super":
                base = parent[:-1] if is_dir_mod else parent
                prefix = "::".join(base) + "::" + prefix if base else prefix
            for item in m.group(3).split(","):
                item = item.strip().split(" as ")[0].strip()
                if item and item != "self" and re.match(r"[a-z_]", item):
                    refs.append(prefix + item)
        for ref in refs:
            target = resolve(ref.strip(":"))
            if target is not None and target != mod and target != "":
                edges[mod].add(target)

    # Tarjan's strongly connected components.
    index, low, on, stack, sccs, counter = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(modules):
        if v not in index:
            visit(v)

    def top_of(mod):
        return mod.split("::")[0] if mod else "lib"

    upward = []
    for mod, targets in sorted(edges.items()):
        src = top_of(mod)
        for target in sorted(targets):
            dst = top_of(target)
            if src == dst and not target.endswith("::routes"):
                continue
            if dst in ALLOWED_TOP_IMPORTERS and src not in ALLOWED_TOP_IMPORTERS[dst]:
                upward.append((mod, target, f"`{dst}` is imported only by {sorted(ALLOWED_TOP_IMPORTERS[dst])}"))
            elif target.endswith("::routes") and src not in {"http", "main", "lib"}:
                upward.append((mod, target, "a feature's routes are imported only by `http`"))
            elif src in INFRA and dst in FEATURES:
                upward.append((mod, target, "infrastructure imports no feature"))

    largest = max((len(c) for c in sccs), default=0)
    if quiet:
        print(f"module graph: {len(modules)} modules, {sum(len(t) for t in edges.values())} imports, "
              f"{len(sccs)} cycles (largest {largest}), {len(upward)} upward imports")
    else:
        print(f"{len(modules)} modules, {sum(len(t) for t in edges.values())} imports")
        for comp in sccs:
            print(f"cycle of {len(comp)}: {', '.join(comp)}")
        for mod, target, why in upward:
            print(f"upward: {mod} -> {target} ({why})")
        print(f"cycles: {len(sccs)} (largest {largest}); upward imports: {len(upward)}")
    return 1 if sccs or upward else 0


if __name__ == "__main__":
    sys.exit(main())
