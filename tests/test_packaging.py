"""What a wheel installs: every folder of the library and the CLI, with its data files.

An editable install (the README's) imports straight from the checkout, so a folder that
pyproject.toml forgets still works here and is missing from a wheel; setuptools only warns
("Package would be ignored"). This reads pyproject.toml the way setuptools does: each
folder under a package directory must be a listed package, and each file in it that is not
Python must match that package's package-data.
"""

import fnmatch
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]


def installed_folders() -> dict[Path, str]:
    """Each folder of the checkout that a listed package installs -> that package's name."""
    dirs = CONFIG["package-dir"]
    folders = {}
    for package in CONFIG["packages"]:
        top, _, rest = package.partition(".")
        if package in dirs:
            folder = ROOT / dirs[package]
        else:
            folder = ROOT / dirs.get(top, top) / Path(*rest.split(".")) if rest else (
                ROOT / dirs.get(top, top))
        folders[folder.resolve()] = package
    return folders


def shipped(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*")
                  if "__pycache__" not in p.parts and not p.name.endswith((".pyc", ".pyo")))


def test_every_folder_of_the_library_and_the_cli_is_a_listed_package():
    folders = installed_folders()
    for root in (ROOT / "policy", ROOT / "cli", ROOT / "grammar"):
        assert root.resolve() in folders, root
        for path in shipped(root):
            if path.is_dir():
                assert path.resolve() in folders, f"{path.relative_to(ROOT)} is not in packages"


def test_every_file_that_is_not_python_is_package_data_of_its_package():
    folders = installed_folders()
    data = CONFIG["package-data"]
    for folder, package in folders.items():
        for path in folder.iterdir():
            if path.is_dir() or path.suffix == ".py" or path.name.endswith((".pyc", ".pyo")):
                continue
            patterns = data.get(package, [])
            assert any(fnmatch.fnmatch(path.name, pat) for pat in patterns), (
                f"{path.relative_to(ROOT)} is not package data of {package}")


def test_the_cli_installs_as_funnel_cli_never_as_a_generic_top_level_name():
    assert "cli" not in CONFIG["packages"]
    assert all(p.split(".")[0] in {"policy", "funnel_cli"} for p in CONFIG["packages"])
