"""make lint's own checks (tools/lint.sh, tools/lint_docs.py): they pass
on the tree, and they catch what they are for."""
import glob
import os
import shutil

import pytest

from conftest import ROOT, need, run

LINT = os.path.join(ROOT, "tools", "lint_docs.py")


def test_tree_passes_lint():
    need("mandoc")
    pages = sorted(glob.glob(os.path.join(ROOT, "doc", "*.[1-8]")))
    r = run(["sh", "tools/lint.sh"] + pages, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()


PAGE = """.Dd December 7, 2026
.Dt DEMO 1
.Os s6net
.Sh NAME
.Nm demo
.Nd a page for the lint test
.Sh SYNOPSIS
.Nm
.Op Fl q | Q
.Op Fl t Ar timeout
.Op Fl -long
%s
.Ar prog ...
.Sh DESCRIPTION
.Nm
runs
.Ar prog ;
.Fl Q
is named here.
.Sh OPTIONS
.Bl -tag -width Ds
.It Fl q
Quiet.
.It Fl t Ar timeout
A timeout.
.It Fl -long
A long option.
.El
"""


@pytest.mark.parametrize("extra,bad", [
    ("", []),
    (".Op Fl P Ar pool", ["-P"]),
    (".Op Fl x | y", ["-x", "-y"]),
    (".Op Fl \\-", []),        # the -- that ends options is no option
])
def test_synopsis_flags_need_a_description(tmp_path, extra, bad):
    page = tmp_path / "demo.1"
    page.write_text(PAGE % extra)
    r = run(["python3", LINT, "synopsis", str(page)])
    out = r.stdout.decode()
    assert r.returncode == (1 if bad else 0), out
    for fl in bad:
        assert "SYNOPSIS flag %s is described nowhere" % fl in out
    assert out.count("\n") == len(bad)


def test_links_resolve_and_examples_stay_inside(tmp_path):
    root = tmp_path / "repo"
    (root / "tools").mkdir(parents=True)
    shutil.copy(LINT, root / "tools")
    (root / "doc").mkdir()
    (root / "doc" / "x.1").write_text("")
    ex = root / "examples" / "one"
    ex.mkdir(parents=True)
    (ex / "run").write_text("")
    (root / "README.md").write_text(
        "[ok](doc/x.1) [web](https://example.org/) [anchor](#top) `[code](nowhere)`\n"
        "[missing](doc/y.1) [outside](../elsewhere.md)\n")
    (ex / "README.md").write_text("[ok](run) [up](../../doc/x.1)\n")
    r = run(["python3", str(root / "tools" / "lint_docs.py"), "links",
             str(root / "README.md"), str(ex / "README.md")])
    out = r.stdout.decode()
    assert r.returncode == 1
    assert "link doc/y.1 does not resolve" in out
    assert "link ../elsewhere.md does not resolve" in out or "leads outside the repository" in out
    assert "link ../../doc/x.1 leads outside the example's directory" in out
    assert out.count("\n") == 3, out
