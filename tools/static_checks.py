"""The static checks `make test` runs before the test suite: the import contracts
(import-linter, `[tool.importlinter]` in pyproject.toml) and the type checker (mypy, `[tool.mypy]`).

Both tools find modules by walking a package's directory, but nodedesk installs its top-level
folders (core/, tui/, api/...) as the ``nodedesk.*`` packages (pyproject.toml, package-dir). So
the checks run on a throw-away tree that has that shape: ``nodedesk/`` holding links to those
folders. Usage: ``python tools/static_checks.py [imports|types]...`` (both by default).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def product_folders() -> dict[str, Path]:
    """``{"core": REPO/"core", ...}``: every folder pyproject.toml maps into ``nodedesk.*``."""
    import tomllib

    mapping = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]["package-dir"]
    return {
        name.split(".", 1)[1]: REPO / folder
        for name, folder in mapping.items()
        if name.count(".") == 1 and (REPO / folder / "__init__.py").exists()
    }


def package_tree(root: Path, *, copy: Sequence[str] = ()) -> Path:
    """Lay out ``root/nodedesk`` as the installed package; folders named in ``copy`` are copied
    (so a test may add a module to them) instead of linked."""
    package = root / "nodedesk"
    package.mkdir(parents=True)
    shutil.copy(REPO / "nodedesk" / "__init__.py", package / "__init__.py")
    for name, folder in product_folders().items():
        if name in copy:
            shutil.copytree(folder, package / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (package / name).symlink_to(folder, target_is_directory=True)
    return root


def run_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "lint-imports"), "--no-cache", str(REPO / "pyproject.toml")],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
    )


def run_types(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(BIN / "mypy"),
            "--config-file", str(REPO / "pyproject.toml"),
            "--cache-dir", str(tree / ".mypy_cache"),  # a fresh cache: the links change under it
            "--python-executable", sys.executable,
            "-p", "nodedesk",
        ],
        cwd=tree,
        env={**os.environ, "MYPYPATH": str(tree)},
        capture_output=True,
        text=True,
    )


def contract_lines(output: str) -> str:
    """import-linter's report without its banner."""
    keep = output[output.find("Contracts") :] if "Contracts" in output else output
    return keep.strip()


def main(argv: Sequence[str]) -> int:
    wanted = list(argv) or ["imports", "types"]
    failed = False
    with tempfile.TemporaryDirectory(prefix="nodedesk-checks-") as tmp:
        tree = package_tree(Path(tmp))
        if "imports" in wanted:
            result = run_imports(tree)
            print(contract_lines(result.stdout + result.stderr))
            failed |= result.returncode != 0
        if "types" in wanted:
            result = run_types(tree)
            print((result.stdout + result.stderr).strip())
            failed |= result.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
