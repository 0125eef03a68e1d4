"""The metadata scan that keeps ``importlib.metadata`` out of ``adbench list``: it must give
importlib.metadata's answers, and step aside wherever it could not be exact."""

from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from autodiff_bench import distributions


@pytest.fixture
def fresh() -> Iterator[None]:
    distributions._scan.cache_clear()
    distributions.version.cache_clear()
    yield
    distributions._scan.cache_clear()
    distributions.version.cache_clear()


def test_every_installed_version_matches_importlib_metadata(fresh) -> None:
    names = {d.metadata["Name"] for d in importlib.metadata.distributions()}
    assert names
    for name in names:
        assert distributions.version(name) == importlib.metadata.version(name), name
    assert distributions.version("no-such-distribution-adbench") is None


def _fake_dist(site: Path, name: str, version: str, entry_points: str | None = None) -> None:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\n")
    if entry_points is not None:
        (info / "entry_points.txt").write_text(entry_points)


def test_a_plugin_declaring_the_group_is_seen(fresh, tmp_path: Path, monkeypatch) -> None:
    group = "autodiff_bench.backends"
    _fake_dist(tmp_path, "quiet_pkg", "1.0", "[console_scripts]\nq = quiet:main\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    assert distributions.may_have_entry_points(group) is False
    assert distributions.version("Quiet-Pkg") == "1.0"  # names compare normalized
    distributions._scan.cache_clear()
    _fake_dist(tmp_path, "my_backend", "0.3.1+local", f"[{group}]\nmine = my_backend:B\n")
    assert distributions.may_have_entry_points(group) is True
    assert distributions.version("my-backend") == "0.3.1+local"


def test_a_zip_on_the_path_hands_over_to_importlib_metadata(
    fresh, tmp_path: Path, monkeypatch
) -> None:
    archive = tmp_path / "deps.zip"
    archive.write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip archive
    monkeypatch.setattr(sys, "path", [*sys.path, str(archive)])
    assert distributions._scan() is None
    assert distributions.may_have_entry_points("autodiff_bench.backends") is True
    assert distributions.version("numpy") == importlib.metadata.version("numpy")
