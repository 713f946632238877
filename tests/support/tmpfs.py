"""A small disk of its own for a test (a tmpfs, which only root may mount), to fill up."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def small_disk(folder: Path, size: str) -> Iterator[Path]:
    """Mount a tmpfs of ``size`` (``4m``) on ``folder``, made for the purpose; unmount it at
    the end (lazily if something still holds it). Skip the test when not root."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    folder.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder)],
        check=True, timeout=30,
    )
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], capture_output=True, timeout=30).returncode:
            subprocess.run(["umount", "--lazy", str(folder)], check=True, timeout=30)


def fill(path: Path) -> None:
    """Write zeros to the new file ``path`` until its disk is full, to the last block."""
    block = b"\0" * 65536
    with open(path, "xb", buffering=0) as filler:
        for size in (65536, 4096, 512):
            try:
                while True:
                    filler.write(block[:size])
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
