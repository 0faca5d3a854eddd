"""benchmarks/slurm_vs_repro.py: two known breakdowns in, the ratio, the speed check and the bit check out."""
import json
import sys

import yaml

from dvc_repo import PROJECT

sys.path.insert(0, str(PROJECT / 'benchmarks'))
import slurm_vs_repro  # noqa: E402
import time_breakdown  # noqa: E402

T0 = 1_700_000_000.0
MACHINE = {'CPU': 'Test CPU', 'CPU vector ISA (torch)': 'AVX2'}


def train(cell: str, start: float, steps: float) -> dict:
    return {'argv': ['stages/train.py', '--out', f'results/grid/{cell}/train'], 'process_start': T0 + start,
            'script_start': T0 + start + 1, 'end': T0 + start + steps + 2, 'phases': {'train_steps': steps}}


def report(path, records: list[dict], wall: float, command: str):
    path.with_suffix('.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in records))
    about = {'command': f'`{command}`', 'started': '2026-01-01 00:00 UTC',
             '1-min load average at start': '0.05 (2 cores usable; near 0 = idle)'}
    time_breakdown.write(time_breakdown.summarise(records, wall), path, about, MACHINE)
    return path


def compare(local, slurm, tmp_path) -> str:
    out = tmp_path / 'out.md'
    assert slurm_vs_repro.main(['--local', str(local), '--slurm', str(slurm), '--out', str(out)]) == 0
    return out.read_text()


def test_ratio_speed_check_and_a_cell_trained_twice(tmp_path):
    local = report(tmp_path / 'local.md', [train('net-bn_only-0', 0, 30), train('net-all-0', 40, 40)], 100,
                   'dvc repro')
    # The SLURM run trained the second cell in two processes (stopped and resumed), at the same total speed.
    slurm = report(tmp_path / 'slurm.md', [train('net-bn_only-0', 0, 30), train('net-all-0', 40, 10),
                                            train('net-all-0', 60, 30)], 110, 'make slurm-repro')
    text = compare(local, slurm, tmp_path)
    assert '**SLURM / local: 1.100x** (within the 1.15x' in text
    assert 'in more than one process: 1 (grid_train@net-all-0)' in text
    assert 'SLURM / local: 1.000 over all of them; per cell median 1.000' in text
    assert '| **wall time** | **100.0** | **110.0** | **+10.0** |' in text

    slow = report(tmp_path / 'slow.md', [train('net-bn_only-0', 0, 30), train('net-all-0', 40, 40)], 120, 'x')
    assert '**SLURM / local: 1.200x** (OVER the 1.15x' in compare(local, slow, tmp_path)


def test_runs_at_different_speeds_get_a_labelled_estimate_not_a_ratio(tmp_path):
    local = report(tmp_path / 'local.md', [train('net-bn_only-0', 0, 40), train('net-all-0', 50, 40)], 100, 'a')
    # A machine that trains in 0.75x the time: 110 s of wall against 75 s for make repro's, scaled.
    fast = report(tmp_path / 'fast.md', [train('net-bn_only-0', 0, 30), train('net-all-0', 40, 30)], 110, 'b')
    text = compare(local, fast, tmp_path)
    assert 'SLURM / local wall time: 1.100x, which does not measure what SLURM costs' in text
    assert 'trained in 0.750x' in text
    assert '**SLURM / local: 1.467x** (OVER the 1.15x' in text
    assert 'A measured ratio needs both runs to train at one speed: one idle machine, one session.' in text


def lock(root, models: dict[str, str]):
    stages = {f'grid_train@{cell}': {'outs': [{'path': f'results/grid/{cell}/train/model.pt', 'md5': md5}]}
              for cell, md5 in models.items()}
    (root / 'dvc.lock').write_text(yaml.safe_dump({'schema': '2.0', 'stages': stages}))
    (root / 'reports').mkdir()
    for name in slurm_vs_repro.CLAIMS:
        (root / name).write_text('the same claims\n')


def test_the_bit_check_counts_models_and_compares_the_claims(tmp_path, monkeypatch):
    committed, workspace = tmp_path / 'committed', tmp_path / 'workspace'
    committed.mkdir(), workspace.mkdir()
    lock(committed, {'a-0': '1' * 32, 'b-0': '2' * 32})
    lock(workspace, {'a-0': '1' * 32, 'b-0': '3' * 32})
    monkeypatch.setattr(slurm_vs_repro, 'ROOT', committed)
    lines = slurm_vs_repro.bits_lines(workspace)
    assert lines[0].endswith('equal byte for byte to the committed one: yes')
    assert lines[1].endswith('(dvc.lock md5 of each model.pt): 1 of 2')
    (workspace / 'reports' / 'claims.md').write_text('other claims\n')
    assert slurm_vs_repro.bits_lines(workspace)[0].endswith('NO, reports/claims.md differ')


def test_a_missing_report_is_one_error_line(tmp_path, capsys):
    assert slurm_vs_repro.main(['--local', str(tmp_path / 'none.md'), '--out', str(tmp_path / 'o.md')]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith('slurm_vs_repro: error:') and '\n' not in error
