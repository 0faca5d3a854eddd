"""Checksums of the raw files, recorded as data in ``checksums.json``, and the check against them.

Functions that verify take ``checksums``: ``RECORDED`` (the table), ``None`` (verify nothing: tests run the
real format code on generated files this way) or a mapping of file name to digest (a name left out is not
checked; tests inject wrong digests this way).
"""
import hashlib
import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import BinaryIO

from bnonly.data.errors import DataError

RECORDED = 'recorded'

Checksums = Mapping[str, str] | str | None


def algorithm(dataset: str) -> str:
    return _table()[dataset]['algorithm']


def resolve(dataset: str, checksums: Checksums) -> Mapping[str, str] | None:
    """The digests to check for ``dataset``: the recorded table, the one given, or None."""
    if checksums == RECORDED:
        return _table()[dataset]['files']
    if checksums is not None and not isinstance(checksums, Mapping):
        raise TypeError(f'checksums must be {RECORDED!r}, None or a mapping, got {checksums!r}')
    return checksums


def verify(label: str | Path, content: bytes | BinaryIO, name: str, checksums: Mapping[str, str] | None,
           algorithm_name: str) -> None:
    """Raise DataError naming ``label`` if the digest of ``content`` is not the one recorded for ``name``."""
    expected = None if checksums is None else checksums.get(name)
    if expected is None:
        return
    if isinstance(content, bytes):
        actual = hashlib.new(algorithm_name, content).hexdigest()
    else:
        actual = hashlib.file_digest(content, algorithm_name).hexdigest()
    if actual != expected.lower():
        raise DataError(f'{label}: {algorithm_name} checksum mismatch: expected {expected}, got {actual} '
                        f'(the file is corrupt or not the original {name})')


def _table() -> dict:
    return json.loads(resources.files(__package__).joinpath('checksums.json').read_text())
