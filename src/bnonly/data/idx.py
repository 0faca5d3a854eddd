"""The IDX format of MNIST and Fashion-MNIST, read from plain or gzip-compressed files.

An IDX file is two zero bytes, a type code, the number of dimensions, one big-endian uint32 per dimension,
then the array in C order, big-endian (yann.lecun.com/exdb/mnist, "The IDX file format").
"""
import gzip
import zlib
from pathlib import Path

import numpy as np

from bnonly.data.errors import DataError

# Type code -> element type; multi-byte types are big-endian on disk.
_TYPES = {0x08: np.dtype('u1'), 0x09: np.dtype('i1'), 0x0B: np.dtype('>i2'), 0x0C: np.dtype('>i4'),
          0x0D: np.dtype('>f4'), 0x0E: np.dtype('>f8')}
_GZIP_MAGIC = b'\x1f\x8b'


def magic(type_code: int, ndim: int) -> int:
    """The 32-bit magic number of an IDX file: e.g. 0x00000803 for a 3-dimensional uint8 array."""
    return (type_code << 8) | ndim


def read_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when it is gzip (recognised by content, not by name)."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DataError(f'{path}: cannot be read ({error.strerror or error})') from error
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f'{path}: truncated or corrupt gzip data ({error})') from error


def parse(data: bytes, label: str | Path) -> tuple[int, np.ndarray]:
    """The magic number and the array of an IDX file's (decompressed) bytes."""
    if len(data) < 4:
        raise DataError(f'{label}: too short for an IDX file ({len(data)} bytes)')
    found = int.from_bytes(data[:4], 'big')
    type_code, ndim = data[2], data[3]
    if data[:2] != b'\0\0' or type_code not in _TYPES or ndim == 0:
        raise DataError(f'{label}: not an IDX file (magic number 0x{found:08X})')
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f'{label}: IDX header truncated ({len(data)} of {header} bytes)')
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], 'big') for i in range(ndim))
    dtype = _TYPES[type_code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        raise DataError(f'{label}: IDX shape {shape} needs {expected} bytes, the file has {len(data)} '
                        f'({"truncated" if len(data) < expected else "trailing data"})')
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return found, array.astype(dtype.newbyteorder('='), copy=False)
