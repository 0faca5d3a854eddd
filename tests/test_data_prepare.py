"""prepare(): atomic output, names and defaults, and the stage script's exit status and message."""
import subprocess
import sys
from pathlib import Path

import pytest

from bnonly.data import DATASETS, DataError, default_root, load_meta, prepare, prepared
from bnonly.settings import GridSettings, RunSettings, choices
from fake_datasets import write_fashion_mnist

REPO = Path(__file__).resolve().parents[1]
REAL = Path('/usr/share/datasets/fashion-mnist')


def leftovers(folder: Path) -> list[str]:
    return [path.name for path in folder.iterdir() if '.tmp-' in path.name]


def test_success_replaces_an_older_copy(tmp_path):
    write_fashion_mnist(tmp_path / 'raw', train=5, test=3)
    (tmp_path / 'out').mkdir()
    (tmp_path / 'out' / 'stale.pt').write_bytes(b'old')
    prepare('fashion_mnist', tmp_path / 'raw', tmp_path / 'out', checksums=None, download=False)
    assert sorted(path.name for path in (tmp_path / 'out').iterdir()) == ['meta.json', 'test.pt', 'train.pt']
    assert not leftovers(tmp_path)


def test_a_failure_midway_leaves_nothing_not_even_the_older_copy(tmp_path, monkeypatch):
    write_fashion_mnist(tmp_path / 'raw', train=5, test=3)
    prepare('fashion_mnist', tmp_path / 'raw', tmp_path / 'out', checksums=None, download=False)

    def disk_full(*args):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(prepared, 'write_meta', disk_full)  # after train.pt and test.pt are written
    with pytest.raises(OSError):
        prepare('fashion_mnist', tmp_path / 'raw', tmp_path / 'out', checksums=None, download=False)
    assert not (tmp_path / 'out').exists() and not leftovers(tmp_path)


def test_unknown_data_set_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="unknown data set 'mnist'; valid: fashion_mnist, cifar10, imagenet"):
        prepare('mnist', None, tmp_path / 'out')


def test_data_sets_and_defaults_agree_with_params():
    assert DATASETS == choices(RunSettings, 'dataset') == choices(GridSettings, 'dataset')
    assert default_root('cifar10') == Path('data/raw/cifar10')
    assert default_root('imagenet') == Path('data/raw/imagenet')
    assert default_root('fashion_mnist') == (REAL if REAL.is_dir() else Path('data/raw/fashion_mnist'))


def run_stage(tmp_path, params: str):
    (tmp_path / 'params.yaml').write_text(params)
    return subprocess.run([sys.executable, str(REPO / 'stages' / 'prepare.py'), '--out', str(tmp_path / 'out'),
                           '--params', str(tmp_path / 'params.yaml')], capture_output=True, text=True, cwd=REPO)


def test_stage_exits_non_zero_with_one_line_naming_the_file(tmp_path):
    write_fashion_mnist(tmp_path / 'raw')  # the recorded checksums reject generated files
    result = run_stage(tmp_path, f'dataset: fashion_mnist\ndata:\n  root: {tmp_path / "raw"}\n')
    assert result.returncode == 1 and result.stdout == ''
    assert result.stderr.count('\n') == 1
    assert result.stderr.startswith(f'prepare: error: {tmp_path / "raw" / "train-images-idx3-ubyte.gz"}: sha256')
    assert not (tmp_path / 'out').exists() and not leftovers(tmp_path)


@pytest.mark.skipif(not REAL.is_dir(), reason='Debian package dataset-fashion-mnist is not installed')
def test_stage_prepares_the_default_fashion_mnist(tmp_path):
    result = run_stage(tmp_path, 'dataset: fashion_mnist\ndata:\n  root: null\n')
    assert result.returncode == 0, result.stderr
    assert load_meta(tmp_path / 'out')['train_size'] == 60000
