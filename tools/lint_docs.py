#!/usr/bin/env python3
"""Documentation checks beyond mandoc, run by tools/lint.sh (make lint).

  lint_docs.py synopsis PAGE...   every flag in a page's SYNOPSIS is
                                  described: an .It entry of its own (in
                                  OPTIONS, or another section's list such
                                  as EXTENSIONS), or named in the OPTIONS
                                  or DESCRIPTION text
  lint_docs.py links FILE...      every relative Markdown link resolves;
                                  in examples/NAME/ it stays inside
                                  examples/NAME/ (an example is copied
                                  on its own)

Prints one line per problem, FILE: what; exits 1 if there was any."""
import os
import re
import sys

DELIMS = {"|", ",", ".", ";", ":", "(", ")", "[", "]", "?", "!"}

# Callable mdoc macros that can follow Fl on a line and end its arguments.
MACROS = set("""Ad An Ao Ac Ap Aq Ar At Bc Bo Bq Brc Bro Brq Bx Cm Dc Do Dq Dv Ec Em Eo Er Ev
Fa Fc Fl Fn Fo Ft Fx Ic In Lk Li Ms Mt Nm No Ns Nx Oc Oo Op Ox Pa Pc Pf Po Pq Qc Ql Qo Qq Sc
So Sq St Sx Sy Tn Ux Va Vt Xc Xo Xr""".split())


def mdoc_words(line):
    """Split a macro line into words, keeping quoted strings whole."""
    return [w[1:-1] if w.startswith('"') else w for w in re.findall(r'"[^"]*"|\S+', line)]


def flags_in(line):
    """The flags a macro line shows: the arguments of each Fl up to the
    next macro (delimiters such as | and , do not end them: 'Fl q | Q'
    is -q | -Q); 'Fl -only-v1' is the long option --only-v1, and a bare
    'Fl' or 'Fl \\-' (the -- that ends options) is no option."""
    if not line.startswith("."):
        return []
    out, on = [], False
    for w in mdoc_words(line[1:]):
        if w == "Fl":
            on = True
        elif w in MACROS:
            on = False
        elif on and w not in DELIMS and w not in ("\\-", "-", "\\(en"):
            out.append("-" + w)
    return out


def sections(path):
    cur, secs = None, {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith(".Sh "):
                cur = line[4:].strip().strip('"')
                continue
            secs.setdefault(cur, []).append(line)
    return secs


def check_synopsis(pages):
    bad = 0
    for page in pages:
        secs = sections(page)
        wanted = []
        for line in secs.get("SYNOPSIS", []):
            for fl in flags_in(line):
                if fl not in wanted:
                    wanted.append(fl)
        described = set()
        for name, lines in secs.items():
            if name == "SYNOPSIS":
                continue
            for line in lines:
                # an entry of its own anywhere (OPTIONS, EXTENSIONS...), or
                # a mention in OPTIONS or DESCRIPTION prose (a wrapper
                # saying which options go to which program of its chain)
                if line.startswith(".It ") or name in ("OPTIONS", "DESCRIPTION"):
                    described.update(flags_in(line))
        for fl in wanted:
            if fl not in described:
                print("%s: SYNOPSIS flag %s is described nowhere (no .It entry, not named in OPTIONS or DESCRIPTION)" % (page, fl))
                bad += 1
    return bad


LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|!\[[^\]]*\]\(([^)\s]+)\)")


def check_links(files, root):
    bad = 0
    for path in files:
        if not path.endswith(".md"):
            continue
        text = open(path, encoding="utf-8").read()
        # code spans and blocks are not links
        text = re.sub(r"```.*?```", "", text, flags=re.S)
        text = re.sub(r"`[^`\n]*`", "", text)
        rel = os.path.relpath(os.path.abspath(path), root)
        parts = rel.split(os.sep)
        box = os.path.join(root, *parts[:2]) if parts[0] == "examples" and len(parts) > 2 else root
        for m in LINK.finditer(text):
            target = m.group(1) or m.group(2)
            if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                continue
            target = target.split("#", 1)[0]
            if not target:
                continue
            full = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(path)), target))
            if not os.path.exists(full):
                print("%s: link %s does not resolve" % (path, target))
                bad += 1
            elif os.path.commonpath([full, box]) != box:
                where = "the example's directory" if box != root else "the repository"
                print("%s: link %s leads outside %s" % (path, target, where))
                bad += 1
    return bad


def main(argv):
    if len(argv) < 2 or argv[1] not in ("synopsis", "links"):
        print("usage: lint_docs.py synopsis|links FILE...", file=sys.stderr)
        return 100
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
    n = check_synopsis(argv[2:]) if argv[1] == "synopsis" else check_links(argv[2:], root)
    return 1 if n else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
