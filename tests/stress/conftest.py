"""Fixtures for the stress suite (make stress, not make check).

The integration suite's conftest is loaded under its own module name and
re-exported here, so its fixtures (procs) and helpers (prog, helper, run,
base_env, need, ...) work unchanged, and the integration *_util modules,
which do `from conftest import ...`, find the same names.
"""
import importlib.util
import json
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
INTEG = os.path.join(os.path.dirname(HERE), "integration")
for d in (INTEG, HERE):
    if d not in sys.path:
        sys.path.insert(0, d)

_spec = importlib.util.spec_from_file_location("s6net_integration_conftest", os.path.join(INTEG, "conftest.py"))
_integ = importlib.util.module_from_spec(_spec)
sys.modules["s6net_integration_conftest"] = _integ
_spec.loader.exec_module(_integ)

# Every name of the integration conftest, its fixtures included, is this
# conftest's too: that is how pytest finds them for the stress tests.
from s6net_integration_conftest import *  # noqa: E402,F401,F403
from s6net_integration_conftest import BUILD  # noqa: E402

FIGURES = os.environ.get("S6NET_STRESS_FIGURES", os.path.join(BUILD, "stress", "figures.jsonl"))


@pytest.fixture
def figures(request):
    """Record one row for tools/stress.sh's table: figures(key=value, ...)."""
    def record(**values):
        os.makedirs(os.path.dirname(FIGURES), exist_ok=True)
        row = {"test": request.node.name}
        row.update(values)
        with open(FIGURES, "a") as f:
            f.write(json.dumps(row) + "\n")
    return record
