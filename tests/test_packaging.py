"""pyproject.toml lists every directory Python could import under src/monitor, so that a
fresh `make demo` installs without setuptools' pages of "Package would be ignored"."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_importable_directory_of_the_package_is_listed() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    src = ROOT / "src"
    importable = set()
    for directory in [src / "monitor", *(src / "monitor").rglob("*")]:
        parts = directory.relative_to(src).parts
        # Python imports a directory whose every name is an identifier ("2026" is not).
        if directory.is_dir() and all(p.isidentifier() for p in parts) and "__pycache__" not in parts:
            importable.add(".".join(parts))
    assert importable - listed == set()
    assert {"monitor", "flows"} <= listed
