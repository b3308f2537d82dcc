"""Where a report came from: the code's git commit, Python and package versions, platform, CPU.

Versions come from ``importlib.metadata``, so nothing heavy (torch) is imported to learn them.

    python -c "import json, pathlib; from initbench import provenance; print(json.dumps(provenance.collect(pathlib.Path('.')), indent=1))"
"""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

PACKAGES = (
    "initbench",
    "torch",
    "torchvision",
    "numpy",
    "pandas",
    "pyarrow",
    "scipy",
    "matplotlib",
    "seaborn",
    "jinja2",
    "weasyprint",
    "pyyaml",
    "mnist1d",
    "snakemake",
)


def _git(repo: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def collect(repo: Path) -> dict:
    """Provenance of the code in ``repo`` and of this machine, as plain values.

    ``git_dirty`` is True when tracked files differ from the commit (untracked files are ignored:
    results and data live in ignored folders); None where ``repo`` is not a git checkout.
    """
    commit = _git(repo, "rev-parse", "HEAD")
    status = _git(repo, "status", "--porcelain", "--untracked-files=no") if commit else None
    return {
        "git_commit": commit,
        "git_commit_date": _git(repo, "show", "-s", "--format=%cI", "HEAD") if commit else None,
        "git_dirty": None if status is None else bool(status),
        "python": sys.version.split()[0],
        "packages": {p: _version(p) for p in PACKAGES},
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": cpu_model(),
    }
