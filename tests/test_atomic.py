"""The one atomic write: all or nothing under the target's name, no temporary left, a plain file mode."""

import os
import stat
import subprocess
import sys

import pytest

from initbench.atomic import atomic_write


def test_a_write_that_dies_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "out" / "table.csv"
    atomic_write(path, lambda tmp: tmp.write_text("old\n"))

    def dies_halfway(tmp):
        tmp.write_text("half")
        raise KeyboardInterrupt  # as if the job were killed mid-write

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, dies_halfway)
    assert path.read_text() == "old\n"
    assert [p.name for p in path.parent.iterdir()] == ["table.csv"]
    assert atomic_write(path, lambda tmp: tmp.write_text("new\n")) == path and path.read_text() == "new\n"


def test_the_file_gets_the_mode_open_would_give_it(tmp_path):
    umask = os.umask(0o022)
    try:
        path = atomic_write(tmp_path / "f.json", lambda tmp: tmp.write_text("{}"))
    finally:
        os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # mkstemp alone would leave 0600


def test_aggregate_and_atomic_stay_torch_free():
    code = "import sys, initbench.atomic, initbench.aggregate; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
