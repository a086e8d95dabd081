"""The committed locks in requirements/ agree with pyproject.toml.

Installs come from the locks (README, .ci/run), so a dependency added to pyproject.toml but
not locked, or a lock that no longer satisfies a range, would install something else than
the project declares. `.ci/lock` rewrites both files.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", re.MULTILINE)
# A package the project itself asks for is annotated "via clinic-content-api (pyproject.toml)".
DIRECT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==.*?\n(?:\s+--hash=.*\n)*(\s+#.*\n)+", re.M)


def pins(lock: Path) -> dict[str, str]:
    return {canonicalize_name(name): version for name, version in PIN.findall(lock.read_text())}


def direct_in_lock(lock: Path) -> set[str]:
    names = set()
    for match in DIRECT.finditer(lock.read_text()):
        if "clinic-content-api (pyproject.toml)" in match.group(0):
            names.add(canonicalize_name(match.group(1)))
    return names


LOCKS = {
    "requirements/main.txt": PROJECT["dependencies"],
    "requirements/dev.txt": PROJECT["dependencies"] + PROJECT["optional-dependencies"]["dev"],
}


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_declared_dependency_is_locked_within_its_range(lock: str) -> None:
    pinned = pins(ROOT / lock)
    wrong = []
    for line in LOCKS[lock]:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        if name not in pinned:
            wrong.append(f"{requirement.name}: not in {lock}")
        elif not requirement.specifier.contains(pinned[name], prereleases=True):
            wrong.append(f"{requirement.name}: {lock} pins {pinned[name]}, outside {line!r}")
    assert not wrong, "run .ci/lock:\n" + "\n".join(wrong)


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_the_lock_asks_for_nothing_pyproject_does_not(lock: str) -> None:
    declared = {canonicalize_name(Requirement(line).name) for line in LOCKS[lock]}
    assert direct_in_lock(ROOT / lock) == declared, "run .ci/lock"


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_pin_carries_hashes(lock: str) -> None:
    text = (ROOT / lock).read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    unhashed = [block.split()[0] for block in blocks if "==" in block and "--hash=" not in block]
    assert not unhashed
