"""A lock left by a killed run is removed; a lock held by a live run is not."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from initbench import locks


def _lock(tmp_path):
    d = tmp_path / ".snakemake" / "locks"
    d.mkdir(parents=True)
    (d / "0.output.lock").write_text("a.txt\n")
    return d


def test_lock_of_a_dead_owner_is_removed(tmp_path):
    d = _lock(tmp_path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    owners = tmp_path / ".snakemake" / "initbench-owners"
    owners.mkdir()
    (owners / f"{socket.gethostname()}-{dead.pid}").touch()
    assert locks.clear_stale(tmp_path)
    assert not d.exists()


def test_lock_of_a_live_owner_stays(tmp_path):
    d = _lock(tmp_path)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        owners = tmp_path / ".snakemake" / "initbench-owners"
        owners.mkdir()
        (owners / f"{socket.gethostname()}-{live.pid}").touch()
        assert not locks.clear_stale(tmp_path)
        assert d.exists()
    finally:
        live.kill()


def test_owner_on_another_host_is_never_second_guessed(tmp_path):
    d = _lock(tmp_path)
    owners = tmp_path / ".snakemake" / "initbench-owners"
    owners.mkdir()
    (owners / "some-other-host-1").touch()
    assert not locks.clear_stale(tmp_path)
    assert d.exists()


def test_register_then_clear_keeps_own_entry(tmp_path):
    locks.register(tmp_path)
    assert (tmp_path / ".snakemake/initbench-owners" / f"{socket.gethostname()}-{os.getpid()}").exists()
    assert not locks.clear_stale(tmp_path)
