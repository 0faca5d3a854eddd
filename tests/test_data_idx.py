"""The IDX reader: headers, element types, sizes, gzip."""
import gzip

import numpy as np
import pytest

from bnonly.data import DataError, idx
from fake_datasets import idx_bytes


def test_parse_reads_uint8_arrays_and_their_magic_number():
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    magic, parsed = idx.parse(idx_bytes(array), 'f')
    assert magic == 0x00000803 == idx.magic(0x08, 3)
    assert parsed.dtype == np.uint8 and np.array_equal(parsed, array)


def test_parse_converts_big_endian_types():
    array = np.array([[1, -2, 300], [40000, 5, -60000]], dtype=np.int32)
    magic, parsed = idx.parse(idx_bytes(array, type_code=0x0C), 'f')
    assert magic == 0x00000C02 and np.array_equal(parsed, array)


@pytest.mark.parametrize('cut, message', [(1, 'truncated'), (-1, 'trailing data')])
def test_parse_rejects_a_size_that_does_not_match_the_header(cut, message):
    data = idx_bytes(np.zeros((3, 5), dtype=np.uint8))
    data = data[:-cut] if cut > 0 else data + b'\0'
    with pytest.raises(DataError, match=f'needs 27 bytes.*{message}'):
        idx.parse(data, 'f')


@pytest.mark.parametrize('header', [b'\x00\x01\x08\x01', b'\x00\x00\x07\x01', b'\x00\x00\x08\x00', b'\x00\x00'])
def test_parse_rejects_what_is_not_idx(header):
    with pytest.raises(DataError, match='not an IDX file|too short'):
        idx.parse(header + b'\0' * 8, 'f')


def test_read_bytes_decompresses_gzip_by_content_not_name(tmp_path):
    content = idx_bytes(np.ones(4, dtype=np.uint8))
    (tmp_path / 'plain.gz').write_bytes(content)
    (tmp_path / 'packed').write_bytes(gzip.compress(content))
    assert idx.read_bytes(tmp_path / 'plain.gz') == idx.read_bytes(tmp_path / 'packed') == content


def test_read_bytes_names_a_truncated_gzip_file(tmp_path):
    path = tmp_path / 'x.gz'
    path.write_bytes(gzip.compress(bytes(range(256)) * 40)[:-20])
    with pytest.raises(DataError, match=f'{path}: truncated or corrupt gzip'):
        idx.read_bytes(path)
