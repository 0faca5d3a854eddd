"""Files altered after they were written: a prepared data file, and the trained model in the workspace and in
DVC's cache. Under `dvc repro` each is detected by DVC's hashes and rebuilt or restored, never used; outside
DVC, bnonly's own checks refuse what is structurally broken, naming the file.

DVC 3.67 notes (tested here): `dvc repro` hashes every output it relies on, so an altered output makes its
stage "changed" and it is restored from the run-cache or rerun; a cache object that no longer matches its
name is detected and replaced when a stage restores from it. `dvc checkout` alone copies a cache object
without rehashing it, but the next `dvc status` reports the result as "not in cache" and `dvc repro` rebuilds
it.
"""
import hashlib
import subprocess
import sys

import pytest
import yaml

from dvc_repo import PROJECT
from faults.harness import assert_same_analysis, assert_same_prepared, assert_same_training, up_to_date

pytestmark = pytest.mark.slow


def flip_byte(path, offset: int = -300) -> None:
    """One bit pattern changed inside the file, as a bad disk or a stray write would leave it."""
    path.chmod(0o644)  # DVC's cache objects are read-only
    content = bytearray(path.read_bytes())
    content[offset] ^= 0xFF
    path.write_bytes(bytes(content))


def cached_model(repo):
    lock = yaml.safe_load((repo.root / 'dvc.lock').read_text())
    (digest,) = [out['md5'] for out in lock['stages']['train']['outs'] if out['path'] == 'results/train/model.pt']
    return digest, repo.root / '.dvc' / 'cache' / 'files' / 'md5' / digest[:2] / digest[2:]


def test_a_prepared_file_altered_after_it_was_written_is_restored(reference, tmp_path):
    repo = reference.copy(tmp_path / 'repo')
    flip_byte(repo.root / 'data' / 'prepared' / 'train.pt')
    assert 'modified:' in repo.run('dvc', 'status', 'prepare').stdout
    result = repo.run('dvc', 'repro', 'analyze')
    assert "Stage 'prepare' is cached - skipping run, checking out outputs" in result.stdout, result.stdout
    assert "Running stage 'train'" not in result.stdout  # the restored copy is the one training read
    assert_same_prepared(repo, reference)
    assert up_to_date(repo, 'analyze')


def test_a_model_altered_in_the_workspace_is_rebuilt(reference, tmp_path):
    repo = reference.copy(tmp_path / 'repo')
    flip_byte(repo.root / 'results' / 'train' / 'model.pt')
    assert 'modified:' in repo.run('dvc', 'status', 'train').stdout
    repo.run('dvc', 'repro', 'analyze')
    assert_same_training(repo, reference)
    assert_same_analysis(repo, reference)
    assert up_to_date(repo, 'analyze')


def test_a_model_altered_in_the_cache_is_never_restored(reference, tmp_path):
    repo = reference.copy(tmp_path / 'repo')
    digest, cached = cached_model(repo)
    flip_byte(cached)
    (repo.root / 'results' / 'train' / 'model.pt').unlink()
    result = repo.run('dvc', 'repro', 'analyze')
    assert "Running stage 'train'" in result.stdout  # retrained, not restored from the altered object
    assert_same_training(repo, reference)
    assert_same_analysis(repo, reference)
    assert hashlib.md5(cached.read_bytes()).hexdigest() == digest  # and the cache holds the true model again


def test_a_checkout_of_an_altered_cache_object_is_caught_by_the_next_repro(reference, tmp_path):
    repo = reference.copy(tmp_path / 'repo')
    _, cached = cached_model(repo)
    flip_byte(cached)
    (repo.root / 'results' / 'train' / 'model.pt').unlink()
    repo.run('dvc', 'checkout', 'results/train/model.pt')  # DVC copies the object as it is
    assert 'not in cache:       results/train/model.pt' in repo.run('dvc', 'status', 'train').stdout
    assert "Running stage 'train'" in repo.run('dvc', 'repro', 'analyze').stdout
    assert_same_training(repo, reference)
    assert_same_analysis(repo, reference)


def run_stage(script: str, *args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(PROJECT / 'stages' / script), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_outside_dvc_a_truncated_prepared_file_is_refused_naming_it(reference, tmp_path):
    repo = reference.copy(tmp_path / 'repo')
    split = repo.root / 'data' / 'prepared' / 'train.pt'
    split.chmod(0o644)
    split.write_bytes(split.read_bytes()[:1000])
    result = run_stage('train.py', '--data', 'data/prepared', '--out', str(tmp_path / 'out'), cwd=repo.root)
    assert result.returncode != 0
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f'train: error: data/prepared/train.pt: unreadable as a prepared split') and \
        'dvc repro prepare' in line, result.stderr
    assert not (tmp_path / 'out' / 'model.pt').exists()


def test_outside_dvc_a_truncated_model_is_refused_naming_it(reference, tmp_path):
    repo = reference.copy(tmp_path / 'repo')
    model = repo.root / 'results' / 'train' / 'model.pt'
    model.chmod(0o644)
    model.write_bytes(model.read_bytes()[:1000])
    result = run_stage('analyze.py', '--checkpoint', 'results/train/model.pt', '--data', 'data/prepared',
                       '--out', str(tmp_path / 'out'), '--no-plots', '--no-progress', cwd=repo.root)
    assert result.returncode != 0
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith('analyze: error: results/train/model.pt') and 'dvc repro train' in line, result.stderr
    assert not (tmp_path / 'out' / 'metrics.json').exists()
