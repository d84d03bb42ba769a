#!/usr/bin/env python3
"""make check-exports: the dynamic symbols a shared library defines must be
exactly the functions (and objects) declared in its public headers.

    tools/check-exports.py LIBRARY.so HEADER...

Both directions are checked: a symbol the library exports that no header
declares is an internal leaking out (or an undocumented interface), and a
declaration the library does not export is a broken promise to the
programs linking it. Exit 0 when they match, 1 otherwise, 2 on misuse.

The header parser knows the C that public headers are written in:
comments, preprocessor lines (the __cplusplus blocks are skipped, every
other conditional is taken), typedefs (including function types, whose
names can then declare functions: "fn_type name;"), struct and enum
definitions, prototypes, and static inline functions (not exported)."""
import re
import subprocess
import sys

IDENT = re.compile(r"[A-Za-z_]\w*")
KEYWORDS = {"extern", "const", "volatile", "struct", "union", "enum", "unsigned", "signed",
            "static", "inline", "restrict", "__restrict"}


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def preprocess(text):
    """Drop directive lines, and the lines inside #ifdef __cplusplus."""
    out, stack = [], []
    lines = text.replace("\\\n", " ").split("\n")
    for line in lines:
        s = line.strip()
        if s.startswith("#"):
            d = s[1:].strip()
            if d.startswith(("if", "ifdef", "ifndef")):
                stack.append("__cplusplus" in d and not d.startswith("ifndef"))
            elif d.startswith("endif"):
                if stack:
                    stack.pop()
            elif d.startswith("else") or d.startswith("elif"):
                if stack and stack[-1]:
                    stack[-1] = False
            continue
        if not any(stack):
            out.append(line)
    return "\n".join(out)


def statements(text):
    """Top-level declarations, split at ';' outside braces and parentheses.
    A function body ends its statement at its closing brace."""
    stmts, cur, depth = [], [], 0
    for ch in text:
        if ch in "{(":
            depth += 1
        elif ch in "})":
            depth -= 1
            if depth == 0 and ch == "}":
                cur.append(ch)
                head = "".join(cur)
                # a function definition: "... name(args) { body }"
                if re.search(r"\)\s*\{", head) and not head.lstrip().startswith("typedef"):
                    stmts.append(head)
                    cur = []
                continue
        if ch == ";" and depth == 0:
            stmts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    return [" ".join(s.split()) for s in stmts if s.strip()]


def flatten(stmt):
    """The statement with the contents of braces removed."""
    out, depth = [], 0
    for ch in stmt:
        if ch == "{":
            depth += 1
            if depth == 1:
                out.append(" {} ")
        elif ch == "}":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def declared(paths):
    """(functions and objects declared, function typedef names)."""
    names, fntypes = set(), set()
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = preprocess(strip_comments(f.read()))
        for stmt in statements(text):
            s = flatten(stmt)
            words = s.split()
            if not words:
                continue
            if words[0] == "typedef":
                m = re.search(r"(\w+)\s*\(", s)
                if m and not re.search(r"\(\s*\*", s[:m.end() + 2]):
                    fntypes.add(m.group(1))
                continue
            if words[0] == "static":
                continue  # an inline definition: nothing to export
            if words[0] in ("struct", "union", "enum") and (len(words) == 2 or
                                                             not IDENT.search(s.split("{}")[-1])):
                continue  # a forward declaration, or a definition declaring nothing
            m = re.search(r"\(\s*\*\s*(\w+)\s*\)", s)
            if m:  # an object of pointer-to-function type
                names.add(m.group(1))
                continue
            m = re.search(r"(\w+)\s*\(", s)
            if m:
                names.add(m.group(1))
                continue
            # "type name", "type name[N]", "type a, b": objects, or functions
            # declared through a function typedef
            for part in s.split("{}")[-1].split(","):
                ids = [i for i in IDENT.findall(part.split("[")[0].split("=")[0]) if i not in KEYWORDS]
                if ids:
                    names.add(ids[-1])
    return names, fntypes


def exported(lib):
    r = subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stderr)
        sys.exit(2)
    out = set()
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) < 3 or f[1] in "AaUuw":  # version nodes, weak undefined
            continue
        out.add(f[2].split("@")[0])
    return out


def main(argv):
    if len(argv) < 3:
        sys.stderr.write("usage: check-exports.py LIBRARY.so HEADER...\n")
        return 2
    lib, headers = argv[1], argv[2:]
    want, _ = declared(headers)
    have = exported(lib)
    status = 0
    for s in sorted(have - want):
        print("check-exports: %s exports %s, which no public header declares" % (lib, s))
        status = 1
    for s in sorted(want - have):
        print("check-exports: %s does not export %s, which a public header declares" % (lib, s))
        status = 1
    if status == 0:
        print("check-exports: %s exports exactly the %d symbols declared in %d public headers"
              % (lib, len(want), len(headers)))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
