"""Installed distributions' versions and entry-point groups, read without ``importlib.metadata``
when that is safe.

``importlib.metadata`` costs ~40 ms to import on the 2-core reference machine (it pulls in
``email``, ``zipfile`` and ``csv``), a fifth of ``adbench list``'s 0.2 s budget, to read a
few versions and learn that no plugin is installed.  Where every ``sys.path`` entry is a plain
folder and no import hook serves distributions of its own, the ``*.dist-info`` folders are
all there is, so a scan of those folders answers exactly; anywhere else (a zipped path entry,
a custom distribution finder) the answer comes from ``importlib.metadata`` itself.
"""

from __future__ import annotations

import functools
import os
import re
import sys


def _normalize(name: str) -> str:
    """A distribution name as the packaging specs compare them (PEP 503)."""
    return re.sub(r"[-_.]+", "_", name).lower()


@functools.cache
def _scan() -> tuple[tuple[str, str], ...] | None:
    """(normalized name, metadata folder) of every installed distribution in ``sys.path``
    order, or None when a plain scan could miss one (then ask ``importlib.metadata``)."""
    from importlib.machinery import PathFinder

    for finder in sys.meta_path:
        if hasattr(finder, "find_distributions") and finder is not PathFinder:
            return None
    found: list[tuple[str, str]] = []
    for entry in sys.path:
        folder = entry or "."
        if os.path.isfile(folder):  # a zip on sys.path: importlib.metadata reads those
            return None
        if not os.path.isdir(folder):
            continue
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            return None
        for name in names:
            stem, dot, suffix = name.rpartition(".")
            if dot and suffix in ("dist-info", "egg-info"):
                dist = stem.partition("-")[0]
                found.append((_normalize(dist), os.path.join(folder, name)))
    return tuple(found)


def _header(folder: str, field: str) -> str | None:
    """One field of a metadata folder's ``METADATA`` (``PKG-INFO`` for egg-info) header."""
    for file in ("METADATA", "PKG-INFO"):
        try:
            with open(os.path.join(folder, file), encoding="utf-8") as fh:
                for line in fh:
                    if not line.strip():
                        return None  # the header ends at the first blank line
                    key, _, value = line.partition(":")
                    if key.lower() == field.lower():
                        return value.strip()
        except OSError:
            continue
    return None


@functools.cache
def version(dist: str) -> str | None:
    """The installed version of distribution ``dist`` (None if it is not installed)."""
    scan = _scan()
    if scan is not None:
        wanted = _normalize(dist)
        for name, folder in scan:
            if name == wanted:
                found = _header(folder, "Version")
                if found is not None:
                    return found
                break  # an unreadable header: let importlib.metadata decide
        else:
            return None
    import importlib.metadata

    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def may_have_entry_points(group: str) -> bool:
    """Whether some installed distribution may declare entry points in ``group``: False only
    when the scan is exact and no ``entry_points.txt`` names the group."""
    scan = _scan()
    if scan is None:
        return True
    for _, folder in scan:
        try:
            with open(os.path.join(folder, "entry_points.txt"), encoding="utf-8") as fh:
                text = fh.read()
        except OSError:
            continue
        if f"[{group}]" in text.replace(" ", ""):
            return True
    return False


__all__ = ["may_have_entry_points", "version"]
