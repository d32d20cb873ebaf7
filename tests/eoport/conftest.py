"""Fixtures for running the real ``eoport`` entry point in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class CliResult:
    """Outcome of one ``eoport`` invocation."""

    returncode: int
    stdout: str
    stderr: str


RunCli = Callable[..., CliResult]


def _entry_point() -> list[str]:
    exe = shutil.which("eoport", path=os.path.dirname(sys.executable))
    if exe is None:  # pragma: no cover - the package is installed with its scripts
        raise RuntimeError("the eoport entry point is not installed (pip install -e .)")
    return [exe]


@pytest.fixture(scope="session")
def run_cli() -> RunCli:
    """Run ``eoport ARGS...`` through the installed console script."""
    base = _entry_point()

    def run(*args: str | Path, cwd: Path | None = None, timeout: float = 600) -> CliResult:
        proc = subprocess.run(
            [*base, *map(str, args)],
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=timeout,
            env={**os.environ, "PYTHONWARNINGS": "error"},
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    return run


def assert_one_line_error(result: CliResult, *needles: str) -> None:
    """Assert a failed run printed one line naming the problem, and no traceback."""
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle.lower() in lines[0].lower(), lines[0]
