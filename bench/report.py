"""Writing a benchmark's results into its own section of docs/benchmarks.md."""

from __future__ import annotations

import platform
import re
from datetime import UTC, datetime
from pathlib import Path

import torch

BENCHMARKS_MD = Path("docs") / "benchmarks.md"  # relative to the repository root, where `make bench` runs
HEADER = "# Benchmarks\n\nWritten by `make bench`; each section is replaced when its benchmark runs again.\n"


def machine() -> str:
    """One line naming where the numbers were measured."""
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU only"
    return f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, {device}"


def write_section(name: str, title: str, body: str, path: Path = BENCHMARKS_MD) -> None:
    """Replace (or append) the section ``name`` with ``body`` and a line saying when and where."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"<!-- bench:{name} -->\n## {title}\n\n_Measured {stamp} on {machine()}._\n\n{body.strip()}\n"
        f"<!-- /bench:{name} -->\n"
    )
    text = path.read_text() if path.exists() else HEADER
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->\n", re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else f"{text.rstrip()}\n\n{section}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
