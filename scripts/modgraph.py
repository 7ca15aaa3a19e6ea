#!/usr/bin/env python3
"""Module graph of the workspace: which module uses which, and any loop among them.

Reads every crate's `src/` (the root package and `crates/*`), resolves each `crate::a::b` and
`super::x` path (in `use` items and inline, comments left out) to the module it names, and prints
the edges at two levels: between a crate's top-level modules, and between the sibling files of
each module folder. Exits 1 if either level has a cycle (and prints it), 0 otherwise.

    python3 scripts/modgraph.py            # the top-level edges and "no loop"
    python3 scripts/modgraph.py --files    # the sibling-file edges too
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def crates():
    out = [("rcload", os.path.join(ROOT, "src"))]
    cdir = os.path.join(ROOT, "crates")
    if os.path.isdir(cdir):
        for name in sorted(os.listdir(cdir)):
            src = os.path.join(cdir, name, "src")
            if os.path.isdir(src):
                out.append((name, src))
    return out


def module_path(src, path):
    """src/a/b.rs -> [a, b]; src/a/mod.rs -> [a]; src/lib.rs -> []."""
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] == "mod":
        rel = rel[:-1]
    if rel in (["lib"], ["main"]):
        rel = []
    return rel


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    lines = []
    for line in text.splitlines():
        # drop `//` comments, but not `//` inside a string literal
        out, in_str, i = [], False, 0
        while i < len(line):
            c = line[i]
            if c == '"' and (i == 0 or line[i - 1] != "\\"):
                in_str = not in_str
            if not in_str and line.startswith("//", i):
                break
            out.append(c)
            i += 1
        lines.append("".join(out))
    return "\n".join(lines)


def expand_use(tree):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e]."""
    tree = re.sub(r"\s+", "", tree)
    m = re.match(r"^([^{]*)\{(.*)\}$", tree)
    if not m:
        return [tree]
    prefix, inner = m.group(1), m.group(2)
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        parts.append(cur)
    out = []
    for p in parts:
        for e in expand_use(p):
            out.append(prefix + e)
    return out


def paths_in(text):
    for m in re.finditer(r"\buse\s+([^;]+);", text):
        yield from expand_use(m.group(1))
    for m in re.finditer(r"(?<![:\w])((?:crate|super)(?:::\w+)+)", text):
        yield m.group(1)


def resolve(here, path):
    """Absolute module path (list) a `crate::`/`super::` path points into, or None."""
    segs = [s for s in path.split("::") if s]
    if not segs:
        return None
    if segs[0] == "crate":
        return segs[1:]
    if segs[0] == "super":
        base = list(here)
        while segs and segs[0] == "super":
            base = base[:-1]
            segs = segs[1:]
        return base + segs
    if segs[0] == "self":
        return list(here) + segs[1:]
    return None


def loops(nodes, edges):
    """Every strongly connected component of more than one node (Tarjan)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                strong(w)
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
                out.append(sorted(comp))

    for n in sorted(nodes):
        if n not in index:
            strong(n)
    return out


def find_cycle(nodes, edges):
    colour, stack = {}, []

    def visit(n):
        colour[n] = 1
        stack.append(n)
        for m in sorted(edges.get(n, ())):
            if colour.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if colour.get(m) is None:
                c = visit(m)
                if c:
                    return c
        stack.pop()
        colour[n] = 2
        return None

    for n in sorted(nodes):
        if colour.get(n) is None:
            c = visit(n)
            if c:
                return c
    return None


def main():
    show_files = "--files" in sys.argv
    bad = False
    for crate, src in crates():
        files = {}
        for dirpath, _, names in os.walk(src):
            for n in names:
                if n.endswith(".rs"):
                    p = os.path.join(dirpath, n)
                    files[tuple(module_path(src, p))] = p
        mods = set(files)
        top_edges, sib_edges = {}, {}
        for here, p in files.items():
            with open(p, encoding="utf-8") as f:
                text = strip_comments(f.read())
            for path in paths_in(text):
                target = resolve(list(here), path)
                if target is None:
                    continue
                # longest prefix that is a module of this crate
                t = tuple(target)
                while t and t not in mods:
                    t = t[:-1]
                if not t or not here:
                    continue
                if t[0] != here[0]:
                    top_edges.setdefault(here[0], set()).add(t[0])
                else:
                    # siblings inside the same folder: the first differing segment
                    i = 0
                    while i < min(len(here), len(t)) and here[i] == t[i]:
                        i += 1
                    if i < len(here) and i < len(t):
                        parent = "::".join(here[:i])
                        a, b = here[i], t[i]
                        sib_edges.setdefault(parent, {}).setdefault(a, set()).add(b)
        tops = sorted({m[0] for m in mods if m})
        print(f"crate {crate}: {len(tops)} top-level modules")
        for m in tops:
            deps = sorted(top_edges.get(m, ()))
            print(f"  {m:<10} -> {', '.join(deps) if deps else '(none)'}")
        for comp in loops(tops, top_edges):
            bad = True
            sub = {a: {b for b in top_edges.get(a, ()) if b in comp} for a in comp}
            print(f"  LOOP among {', '.join(comp)}: e.g. {' -> '.join(find_cycle(comp, sub))}")
        for parent in sorted(sib_edges):
            edges = sib_edges[parent]
            nodes = set(edges) | {x for v in edges.values() for x in v}
            comps = loops(nodes, edges)
            if show_files:
                print(f"  in {parent}:")
                for a in sorted(edges):
                    print(f"    {a} -> {', '.join(sorted(edges[a]))}")
            for comp in comps:
                bad = True
                sub = {a: {b for b in edges.get(a, ()) if b in comp} for a in comp}
                print(f"  LOOP in {crate}::{parent} among {', '.join(comp)}: "
                      f"e.g. {' -> '.join(find_cycle(comp, sub))}")
    print("loops found" if bad else "no loop")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
