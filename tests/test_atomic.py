"""bnonly.atomic: whole files or none, the old file kept on any failure, and a one-line error on a full disk."""
import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bnonly import atomic
from fake_datasets import write_fashion_mnist

REPO = Path(__file__).resolve().parents[1]


def leftovers(folder: Path) -> list[str]:
    return [path.name for path in folder.iterdir() if '.tmp-' in path.name]


def test_writes_replace_the_file_and_leave_no_temporary(tmp_path):
    target = tmp_path / 'sub' / 'metrics.json'
    atomic.write_text(target, 'old\n')
    atomic.write_bytes(target, b'new\n')
    assert target.read_bytes() == b'new\n' and not leftovers(target.parent)


def test_new_files_get_the_umask_mode_not_0600(tmp_path):
    previous = os.umask(0o022)
    try:
        atomic.write_text(tmp_path / 'a.txt', 'x')
    finally:
        os.umask(previous)
    assert (tmp_path / 'a.txt').stat().st_mode & 0o777 == 0o644


def test_replacing_keeps_the_suffix_for_format_sniffing_writers(tmp_path):
    with atomic.replacing(tmp_path / 'plot.png') as temporary:
        assert temporary.parent == tmp_path and temporary.suffix == '.png' and '.tmp-' in temporary.name
        temporary.write_bytes(b'png')
    assert (tmp_path / 'plot.png').read_bytes() == b'png' and not leftovers(tmp_path)


def test_a_failing_writer_keeps_the_old_file(tmp_path):
    target = tmp_path / 'table.csv'
    target.write_text('old')
    with pytest.raises(ValueError, match='writer broke'):
        with atomic.replacing(target) as temporary:
            temporary.write_text('half')
            raise ValueError('writer broke')  # not an OSError: passes through unchanged
    assert target.read_text() == 'old' and not leftovers(tmp_path)


def full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, 'No space left on device')


def test_full_disk_is_one_line_with_sizes_and_the_old_file_stays(tmp_path, monkeypatch):
    target = tmp_path / 'last.pt'
    target.write_bytes(b'old state')
    monkeypatch.setattr(atomic.os, 'write', full_disk)
    with pytest.raises(atomic.NoSpaceError) as caught:
        atomic.write_bytes(target, b'x' * 12_300_000)
    message = str(caught.value)
    assert message.startswith(f'no space left on {target}: needed about 12.3 MB, ') and message.endswith(' free')
    assert '\n' not in message and caught.value.errno == errno.ENOSPC
    assert target.read_bytes() == b'old state' and not leftovers(tmp_path)


def test_a_wrapped_full_disk_error_is_still_recognised(tmp_path):
    """torch.save and others wrap ENOSPC in their own exception; the chain is searched."""
    with pytest.raises(atomic.NoSpaceError, match=r'needed more than 3 B'):
        with atomic.replacing(tmp_path / 'model.pt') as temporary:
            temporary.write_bytes(b'abc')
            try:
                full_disk()
            except OSError as error:
                raise RuntimeError('file write failed') from error
    assert not leftovers(tmp_path)


def test_quota_and_other_os_errors_are_one_line_write_errors(tmp_path, monkeypatch):
    def over_quota(*args):
        raise OSError(errno.EDQUOT, 'Disk quota exceeded')
    monkeypatch.setattr(atomic.os, 'write', over_quota)
    with pytest.raises(atomic.NoSpaceError, match='disk quota exceeded writing .*a.json: needed about 2 B'):
        atomic.write_text(tmp_path / 'a.json', '{}')
    monkeypatch.undo()
    (tmp_path / 'ro').mkdir()
    (tmp_path / 'ro' / 'x').write_text('a file where a folder must go')
    with pytest.raises(atomic.WriteError, match=r'^cannot write .*x/a.json: '):
        atomic.write_text(tmp_path / 'ro' / 'x' / 'a.json', '{}')


@pytest.mark.parametrize('size, text', [(0, '0 B'), (999, '999 B'), (12_345, '12.3 kB'), (400_000, '400.0 kB'),
                                        (12_300_000, '12.3 MB'), (5e12, '5000.0 GB')])
def test_size_text(size, text):
    assert atomic.size_text(size) == text


@pytest.fixture
def small_tmpfs(mount_tmpfs):
    return mount_tmpfs('2m')


def test_a_real_full_disk_keeps_the_old_file(small_tmpfs):
    target = small_tmpfs / 'last.pt'
    atomic.write_bytes(target, b'a' * 1_500_000)
    with pytest.raises(atomic.NoSpaceError, match=r'needed about 1.5 MB, 5[0-9][0-9].[0-9] kB free'):
        atomic.write_bytes(target, b'b' * 1_500_000)  # old and new together do not fit in 2 MB
    assert target.read_bytes() == b'a' * 1_500_000 and not leftovers(small_tmpfs)
    with pytest.raises(atomic.NoSpaceError, match=r'needed more than '):  # a writer that wants a path
        with atomic.replacing(target) as temporary:
            temporary.write_bytes(b'c' * 1_500_000)
    assert target.read_bytes() == b'a' * 1_500_000 and not leftovers(small_tmpfs)


def fill(folder: Path) -> None:
    """Take every free byte of ``folder``'s file system."""
    with (folder / 'filler').open('wb', buffering=0) as handle:
        try:
            while True:
                handle.write(b'f' * 65536)
        except OSError as error:
            assert error.errno == errno.ENOSPC
        try:
            while True:
                handle.write(b'f')
        except OSError:
            pass


def test_a_stage_on_a_full_disk_prints_one_line_and_exits_1(small_tmpfs, tmp_path):
    write_fashion_mnist(tmp_path / 'raw', train=5, test=3)
    (tmp_path / 'params.yaml').write_text(f'dataset: fashion_mnist\ndata:\n  root: {tmp_path / "raw"}\n'
                                          '  verify_checksums: false\n')
    fill(small_tmpfs)
    result = subprocess.run([sys.executable, str(REPO / 'stages' / 'prepare.py'), '--out', str(small_tmpfs / 'out'),
                             '--params', str(tmp_path / 'params.yaml')], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f'prepare: error: no space left on {small_tmpfs}/'), lines
    assert 'needed about' in lines[0] and not leftovers(small_tmpfs)
