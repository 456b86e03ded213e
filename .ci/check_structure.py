#!/usr/bin/env python3
"""Structural checks over Kiln's library code.

1. Module cycles: within each crate, a module that (through `crate::` or
   `super::` paths) uses a sibling module which, directly or through other
   siblings, uses it back. Uses of a parent by its child (and of a child by its
   parent) are not cycles: a module owns its children.
2. Long functions: a `fn` in library code (a crate's `src/`, binaries and
   tests excluded) whose body spans more than MAX_FN_LINES lines.

Exits 1 and lists the offenders if there are any. Heuristic, not a Rust
parser: it strips comments, strings and char literals and matches braces.
"""
import os
import re
import sys

MAX_FN_LINES = 150
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRATES = ["src", "cli/src", "c-api/src", "parser/src", "validator/src", "runtime/src",
          "interp/src", "jit/src", "wasi/src", "netnode/src", "spec-tests/src",
          "benches/src", "fuzz-replay/src"]


def strip(text):
    """Replaces comments, strings and char literals with spaces, keeping newlines."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth += 1
                    j += 2
                elif text.startswith("*/", j):
                    depth -= 1
                    j += 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'r(#*)"', text[i:])
            close = '"' + m.group(1)
            j = text.find(close, i + len(m.group(0)))
            j = n if j < 0 else j + len(close)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "'":
            m = re.match(r"'(\\.[^']*|[^\\'])'", text[i:])
            if m:
                out.append(" " * len(m.group(0)))
                i += len(m.group(0))
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def rust_files(src):
    for dirpath, dirnames, filenames in os.walk(src):
        if "bin" in dirnames and src.endswith("src"):
            dirnames.remove("bin")
        for f in sorted(filenames):
            if f.endswith(".rs") and f != "main.rs":
                yield os.path.join(dirpath, f)


def module_path(src, path):
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] in ("lib", "mod", "main"):
        rel = rel[:-1]
    return tuple(rel)


def long_functions(src):
    found = []
    for path in rust_files(src):
        text = strip(open(path, encoding="utf-8").read())
        for m in re.finditer(r"\bfn\s+([A-Za-z_][A-Za-z0-9_]*)", text):
            # The body starts at the first `{` after the signature, unless a `;` comes first.
            j = m.end()
            while j < len(text) and text[j] not in "{;":
                j += 1
            if j >= len(text) or text[j] == ";":
                continue
            depth, k = 0, j
            while k < len(text):
                if text[k] == "{":
                    depth += 1
                elif text[k] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                k += 1
            lines = text.count("\n", j, k) + 1
            if lines > MAX_FN_LINES:
                line = text.count("\n", 0, m.start()) + 1
                found.append((os.path.relpath(path, ROOT), line, m.group(1), lines))
    return found


def module_cycles(src):
    files = list(rust_files(src))
    modules = {module_path(src, p): p for p in files}
    edges = {}
    for mod, path in modules.items():
        text = strip(open(path, encoding="utf-8").read())
        targets = set()
        # Expand `use crate::{a, b::c}` groups roughly: collect every path segment list.
        for m in re.finditer(r"\b(crate|super)((?:::\s*(?:[A-Za-z_][A-Za-z0-9_]*|\{[^;]*?\}))+)", text):
            base = ()
            rest = m.group(2)
            if m.group(1) == "super":
                # `super::super::x` climbs several levels; `mod` is already the
                # module's own path (a `mod.rs` is its folder's module).
                parts = [s.strip() for s in rest.split("::") if s.strip()]
                up = 1
                while parts and parts[0] == "super":
                    up += 1
                    parts.pop(0)
                base = mod[:max(0, len(mod) - up)]
                rest = "::" + "::".join(parts)
            for seg in expand(rest):
                full = base + tuple(seg)
                # Longest prefix that is a module.
                while full and full not in modules:
                    full = full[:-1]
                targets.add(full)
        edges[mod] = targets
    # Map each edge to the children of the two modules' lowest common ancestor.
    sib = {}
    for a, bs in edges.items():
        for b in bs:
            k = 0
            while k < len(a) and k < len(b) and a[k] == b[k]:
                k += 1
            if k == len(a) or k == len(b):
                continue  # ancestor or descendant
            sib.setdefault(a[:k + 1], set()).add(b[:k + 1])
    return sccs(sib)


def expand(rest):
    """`::a::{b, c::d}` -> [[a, b], [a, c, d]] (one level of braces is enough here)."""
    rest = rest.strip()
    m = re.match(r"((?:::\s*[A-Za-z_][A-Za-z0-9_]*\s*)*)(?:::\s*\{(.*)\})?$", rest, re.S)
    if not m:
        return [[s.strip() for s in rest.split("::") if s.strip() and "{" not in s]]
    head = [s.strip() for s in m.group(1).split("::") if s.strip()]
    if m.group(2) is None:
        return [head]
    out = []
    depth, cur = 0, ""
    for ch in m.group(2) + ",":
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            item = cur.strip()
            cur = ""
            if not item:
                continue
            first = item.split("::")[0].strip().split(" ")[0]
            out.append(head + ([first] if first not in ("self", "*") else []))
        else:
            cur += ch
    return out


def sccs(graph):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
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
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def main():
    bad = False
    for crate in CRATES:
        src = os.path.join(ROOT, crate)
        if not os.path.isdir(src):
            continue
        for comp in module_cycles(src):
            bad = True
            names = ", ".join("::".join(m) or "(root)" for m in comp)
            print(f"module cycle in {crate}: {names}")
        for path, line, name, lines in long_functions(src):
            bad = True
            print(f"long function: {path}:{line} `{name}` is {lines} lines (at most {MAX_FN_LINES})")
    if bad:
        sys.exit(1)
    print("structure: no module cycles, no library function over", MAX_FN_LINES, "lines")


if __name__ == "__main__":
    main()
