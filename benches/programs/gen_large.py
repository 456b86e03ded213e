#!/usr/bin/env python3
"""Writes large.c, the suite's large program, to standard output.

large.c is several thousand lines of generated C: tiers of functions whose
bodies mix arithmetic, branches, switches, short loops, loads and stores
into a shared state array and calls into the tier below, all reached through
one table of function pointers. Its size is what it is for: it measures how
long each engine takes from the module's bytes to the first call (parsing,
validation, compilation, instantiation), and, run to the end, execution of a
program whose hot code is spread over many functions instead of one loop.

The output depends only on SEED and the constants below (Python's `random`
with an integer seed gives the same sequence on every version since 3.2).
build.sh regenerates large.c, which is committed so the native build needs
no Python.
"""

import random

SEED = 0x6B696C6E  # "kiln"
TIERS = 4
FUNCS_PER_TIER = 100
STATEMENTS = (4, 10)  # per function, inclusive
STATE_WORDS = 64  # the shared uint32_t array, a power of two

rng = random.Random(SEED)


def const():
    return f"0x{rng.getrandbits(32):08x}u"


def var():
    return rng.choice("xyz")


def expr(depth=0):
    """An unsigned 32-bit expression over x, y, z, a, b and the state."""
    choice = rng.randrange(8 if depth < 2 else 3)
    if choice == 0:
        return var()
    if choice == 1:
        return const()
    if choice == 2:
        return f"m[({var()} + {rng.randrange(STATE_WORDS)}u) & {STATE_WORDS - 1}u]"
    left, right = expr(depth + 1), expr(depth + 1)
    if choice == 3:
        return f"({left} {rng.choice('+-^|&')} {right})"
    if choice == 4:
        return f"({left} * {const()})"
    if choice == 5:
        return f"({left} {rng.choice(['<<', '>>'])} ({right} & 31u))"
    if choice == 6:
        return f"rotl({left}, {rng.randrange(1, 32)})"
    return f"({left} / (({right}) | 1u))"


def assignment(ops, depth):
    """`v op= e;` without the self-assignment `v = v;`."""
    target, op = var(), rng.choice(ops)
    value = expr(depth)
    while op == "=" and value == target:
        value = expr(depth)
    return f"{target} {op} {value};"


def condition():
    op = rng.choice(["<", ">", "<=", ">=", "==", "!="])
    if op in ("==", "!="):
        return f"(({expr(1)}) & 7u) {op} {rng.randrange(8)}u"
    return f"{expr(1)} {op} {expr(1)}"


def statement(callees, indent):
    """One statement (with its nested ones) as lines. `callees` is a list of
    the functions it may call, emptied once it has made its calls."""
    pad = "    " * indent
    kind = rng.randrange(10)
    nested = indent < 3
    if kind == 3:
        return [f"{pad}m[({var()} ^ {const()}) & {STATE_WORDS - 1}u] += {expr()};"]
    if kind == 4 and nested:
        lines = [f"{pad}if ({condition()}) {{"]
        lines += statement(callees, indent + 1)
        if rng.randrange(2):
            lines.append(f"{pad}}} else {{")
            lines += statement(callees, indent + 1)
        lines.append(f"{pad}}}")
        return lines
    if kind == 5 and nested:
        count = rng.randrange(2, 9)
        i = f"i{indent}"
        lines = [f"{pad}for (uint32_t {i} = 0; {i} < (b & 3u) + {count}u; {i}++) {{"]
        lines.append(
            f"{pad}    {var()} += m[({i} * {rng.randrange(1, 8)}u + {var()}) & {STATE_WORDS - 1}u] ^ {i};"
        )
        lines += statement([], indent + 1)  # no calls inside loops
        lines.append(f"{pad}}}")
        return lines
    if kind == 6 and nested:
        cases = rng.randrange(3, 9)
        lines = [f"{pad}switch ({expr(1)} % {cases}u) {{"]
        for case in range(cases):
            lines.append(f"{pad}case {case}:")
            lines.append(f"{pad}    {assignment(['+=', '^=', '='], 1)}")
            if rng.randrange(3):
                lines.append(f"{pad}    break;")
            else:
                lines.append(f"{pad}    __attribute__((fallthrough));")
        lines.append(f"{pad}default:")
        lines.append(f"{pad}    break;")
        lines.append(f"{pad}}}")
        return lines
    if kind == 7:
        return [f"{pad}{var()} = {var()} * {const()} + (a ^ {const()});"]
    if kind >= 8 and callees:
        callee = rng.choice(callees)
        return [f"{pad}{var()} ^= f{callee}({expr(1)}, {expr(1)}, m);"]
    return [f"{pad}{assignment(['=', '+=', '^=', '-='], 0)}"]


def function(index, callees):
    lines = [
        f"static uint32_t f{index}(uint32_t a, uint32_t b, uint32_t *m) {{",
        f"    uint32_t x = a ^ {const()}, y = b + {const()}, z = a * {const()};",
    ]
    calls = 0
    for _ in range(rng.randint(*STATEMENTS)):
        # At most two call statements per function (more only through an
        # if/else whose both arms call), so that one call into the top tier
        # runs a few dozen function bodies, not thousands.
        body = statement(callees if calls < 2 else [], 1)
        calls += sum("^= f" in line for line in body)
        lines += body
    lines.append("    return x ^ y ^ z;")
    lines.append("}")
    return lines


def main():
    out = [
        "/* Generated by gen_large.py: do not edit; change the generator and",
        " * run build.sh. The suite's large program: many functions in tiers,",
        " * each calling into the tier below, reached through one table; see",
        " * gen_large.py for what it measures. */",
        '#include "common.h"',
        "",
        "/* Generated expressions may compare a constant or a variable with",
        " * itself, and a generated function may not use its state pointer. */",
        '#pragma GCC diagnostic ignored "-Wtype-limits"',
        '#pragma GCC diagnostic ignored "-Wtautological-compare"',
        '#pragma GCC diagnostic ignored "-Wunused-parameter"',
        "",
        "static inline uint32_t rotl(uint32_t v, int r) { return (v << r) | (v >> (32 - r)); }",
        "",
    ]
    total = TIERS * FUNCS_PER_TIER
    for index in range(total):
        out.append(f"static uint32_t f{index}(uint32_t a, uint32_t b, uint32_t *m);")
    out.append("")
    for tier in range(TIERS):
        below = list(range((tier - 1) * FUNCS_PER_TIER, tier * FUNCS_PER_TIER)) if tier else []
        for index in range(tier * FUNCS_PER_TIER, (tier + 1) * FUNCS_PER_TIER):
            out += function(index, below)
            out.append("")
    out.append("typedef uint32_t (*func_t)(uint32_t, uint32_t, uint32_t *);")
    out.append(f"static func_t const funcs[{total}] = {{")
    for index in range(0, total, 8):
        out.append("    " + " ".join(f"f{i}," for i in range(index, min(index + 8, total))))
    out.append("};")
    out.append("")
    out += [
        f"static uint32_t state[{STATE_WORDS}];",
        "",
        "int main(int argc, char **argv) {",
        "    int scale = scale_arg(argc, argv, 1500);",
        "    rng_t rng = rng_new(1);",
        f"    for (int i = 0; i < {STATE_WORDS}; i++)",
        "        state[i] = rng_u32(&rng);",
        "    uint64_t h = 0;",
        "    for (int round = 0; round < scale; round++) {",
        f"        for (uint32_t i = 0; i < {total}u; i++) {{",
        "            uint32_t r = funcs[i](rng_u32(&rng), (uint32_t)round + i, state);",
        "            h = mix(h, r);",
        "        }",
        "    }",
        '    print_checksum("large", h);',
        "    return 0;",
        "}",
    ]
    print("\n".join(out))


main()
