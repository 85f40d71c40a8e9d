"""Runs each host unit test program (built with ASan and UBSan)."""
import glob
import os
import subprocess

import pytest

from conftest import BUILD

UNIT = sorted(glob.glob(os.path.join(BUILD, "tests", "unit", "test_*")))
UNIT = [u for u in UNIT if os.access(u, os.X_OK) and not u.endswith(".d")]


@pytest.mark.parametrize("binary", UNIT, ids=[os.path.basename(u) for u in UNIT])
def test_unit(binary):
    p = subprocess.run([binary], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
