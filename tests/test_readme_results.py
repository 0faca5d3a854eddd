"""README.md's results blocks (bnonly.readme_results): the committed README says what the committed files say, and
the wording for each kind of verdict, for missing files and for files that disagree, on small synthetic files
(never measurements). The module reads CSV, YAML and Markdown and imports no torch (a fresh interpreter checks)."""
import csv
import json
import subprocess
import sys

import pytest
import yaml

from bnonly import pipelines, readme_results
from bnonly.claims_tables import TABLES
from bnonly.reporting import claims_table
from bnonly.reporting.verdicts import CONTRADICTED, EXPLORATORY, HOLDS, NOT_MEASURED, UNRESOLVED, decide, not_measured
from dvc_repo import PROJECT

sys.path.insert(0, str(PROJECT / 'benchmarks'))
import time_breakdown  # noqa: E402

PAPER, EXTENSIONS, STUDY, SCOPE = readme_results.PIPELINES
COLUMNS = ['number', 'claim', 'paper', 'ours', 'test', 'decided_on', 'n', 'family', 'estimate', 'ci_low', 'ci_high',
           'verdict', 'verdict_text', 'scope', 'budget', 'seeds_needed', 'seeds_needed_holm', 'reason']
GRID = """grid:
  dataset: fashion_mnist
  runs: [cifar_resnet14-bn_only, cifar_resnet14-random_k]
  seeds: [3, 4, 5, 6]
  analyze_runs: [cifar_resnet14-bn_only]
  train: {epochs: 4, batch_size: 128, examples: 32000, milestones: [2, 3]}
"""
README = """# a project

## Results

<!-- results: an old block -->
57.9 min, written by hand
<!-- /results -->

Prose that stays.

<!-- extension results: an old block -->
<!-- /extension results -->

<!-- study results: an old block -->
<!-- /study results -->

<!-- scope results: an old block -->
<!-- /scope results -->
"""


def claim(number, verdict, verdict_text='', *, family='primary', ours='-', reason='', **more) -> dict:
    return dict(number=number, claim=f'Claim {number}.', paper='p', ours=ours, test='t', decided_on='ResNet-14',
                n='4', family=family, verdict=verdict, verdict_text=verdict_text, scope='ResNet-14 only',
                budget='1,000 steps', reason=reason, **more)


ROWS = [
    claim('1', NOT_MEASURED, family='-', reason='the grid ran on Fashion-MNIST, not CIFAR-10'),
    claim('3', NOT_MEASURED, family='-', reason='the grid ran on Fashion-MNIST, not CIFAR-10'),
    claim('8', NOT_MEASURED, family='-', reason='needs bn_output cells'),
    claim('6', HOLDS, 'holds (ResNet-14 only; 1,000 steps per cell)', ours='BN-only − random_k: +35.1 points'),
    claim('15', CONTRADICTED, 'reversed at 1,000 steps (ResNet-32 vs ResNet-14 only; not a test of the converged '
          'claim)', family='secondary', ours='share of small γ: ResNet-32 − ResNet-14: -3.1 [-4.6, -1.5] points'),
    claim('11', UNRESOLVED, 'not resolvable at this budget (ResNet-14 only; 1,000 steps per cell): a new '
          'confirmatory seed set of ≈ 14 seeds', family='secondary',
          ours='all − all_but_bn: +0.1 [-0.6, +0.7] points',
          seeds_needed='6', seeds_needed_holm='14'),
]


def write_claims(path, rows, columns=COLUMNS):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open('w', newline='') as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction='ignore')
        writer.writeheader()
        writer.writerows(rows)


def write_summary(path, trained: dict, analysed: dict):
    """A grid summary's rows as bnonly.paper.aggregate writes them, reduced to the columns the module reads."""
    rows = [dict(group='grid', run=run, source='train', metric=metric, n=n)
            for run, n in trained.items() for metric in ('test_loss', 'test_accuracy')]
    rows += [dict(group='grid', run=run, source='analysis', metric='gamma.mean', n=n) for run, n in analysed.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open('w', newline='') as handle:
        writer = csv.DictWriter(handle, fieldnames=['group', 'run', 'source', 'metric', 'n'])
        writer.writeheader()
        writer.writerows(rows)


def write_breakdown(path, *, load='3.64 (2 cores usable; near 0 = idle)', status='0', resummarised=False, pieces=None):
    """A report written by benchmarks/time_breakdown.py's own Markdown writer: 100 s of wall time, 60 s training
    steps and 20 s analysis passes; ``resummarised``: as --from-log writes it, without command or machine."""
    records = [{'argv': ['stages/train.py', '--out', 'results/grid/net-all-3/train'], 'process_start': 0.0,
                'script_start': 2.0, 'end': 70.0, 'phases': {'train_steps': 60.0}},
               {'argv': ['stages/analyze.py', '--out', 'results/grid/net-all-3/analyze'], 'process_start': 70.0,
                'script_start': 72.0, 'end': 95.0, 'phases': {'analysis_passes': 20.0}}]
    about = {'command': '`dvc repro`', 'started': '2026-11-29 03:27 UTC', '1-min load average at start': load,
             'exit status': status}
    machine = {'CPU': 'AMD EPYC', 'cores usable': '2', 'GPU': 'none (CPU run)', 'torch': '2.14.1'}
    if resummarised:
        about, machine = {'source': 're-summarised from a log; the machine it ran on is not described'}, None
    if pieces:
        about['pieces'] = time_breakdown.pieces_line(pieces)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(time_breakdown.markdown(time_breakdown.summarise(records, 100.0), about, machine))


@pytest.fixture
def root(tmp_path):
    """A repository root with the default pipeline's files (new claims format, cells in git) and no extensions."""
    (tmp_path / 'README.md').write_text(README)
    (tmp_path / 'grid.yaml').write_text(GRID)
    write_summary(tmp_path / PAPER.summary, {'cifar_resnet14-bn_only': 4, 'cifar_resnet14-random_k': 4},
                  {'cifar_resnet14-bn_only': 4})
    write_claims(tmp_path / PAPER.claims, ROWS)
    (tmp_path / PAPER.cells).write_text('group,arch\n')
    write_breakdown(tmp_path / PAPER.breakdown)
    return tmp_path


def test_the_committed_readme_says_what_the_committed_files_say():
    readme = (PROJECT / 'README.md').read_text()
    assert readme_results.render(readme, PROJECT) == readme, (
        'README.md is out of date with the files it quotes: run `python -m bnonly.readme_results` and commit it')


def test_each_block_is_a_declared_pipeline_and_in_the_readme():
    assert {p.folder for p in readme_results.PIPELINES} <= {p.folder for p in pipelines.PIPELINES}
    readme = (PROJECT / 'README.md').read_text()
    for pipeline in readme_results.PIPELINES:
        assert readme.count(readme_results.start_marker(pipeline.key)) == 1, pipeline.key


def test_the_command_checks_without_torch():
    script = ('import json, sys\nfrom bnonly import readme_results\ncode = readme_results.main(["--check"])\n'
              'print(json.dumps([code, [m for m in ("torch", "timm") if m in sys.modules]]))')
    done = subprocess.run([sys.executable, '-c', script], cwd=PROJECT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == [0, []]


def test_timing_grid_and_counts(root):
    text = readme_results.block(PAPER, root)
    assert text.startswith('One run of `make repro` (`dvc repro`, started 2026-11-29 03:27 UTC) took **1.7 min** on '
                           'AMD EPYC, 2 cores usable, GPU: none (CPU run), torch 2.14.1; training steps + analysis '
                           'passes were 80.0% of that wall time')
    assert 'load average at its start was 3.64 on 2 usable cores: other work shared the machine' in text
    assert ('The grid ([grid.yaml](grid.yaml)) trained 8 cells of 1,000 SGD steps each on Fashion-MNIST, over 4 seeds '
            '(3-6), and analysed 4 of them') in text
    assert ('has 6 rows: 1 holds, 1 contradicted at this budget, 1 not resolvable at this budget, 3 not '
            'measured.') in text
    assert 'predates' not in text and 'cannot be recomputed' not in text and 'not this grid' not in text


def test_what_the_cells_train_for_comes_from_the_grid_file():
    grid = yaml.safe_load(GRID)['grid']
    assert readme_results.training_length(grid) == '1,000 SGD steps'
    grid['runs'].append('cifar_resnet14-bn_only-e8')     # a run with its own budget: 8 epochs
    assert readme_results.training_length(grid) == '1,000 to 2,000 SGD steps'
    del grid['train']['examples']                         # the data set's size is not in the file
    assert readme_results.training_length(grid) == '4 to 8 epochs'


def test_an_idle_machine_and_a_failed_run(root):
    write_breakdown(root / PAPER.breakdown, load='0.12 (2 cores usable; near 0 = idle)', status='2')
    text = readme_results.block(PAPER, root)
    assert 'was 0.12 on 2 usable cores (near 0 = idle).' in text and 'overestimate' not in text
    assert '**It failed (exit status 2)**' in text


def test_a_resummarised_report_names_no_command_and_no_machine(root):
    write_breakdown(root / PAPER.breakdown, resummarised=True)
    assert readme_results.block(PAPER, root).startswith(
        'One run of `make repro` took **1.7 min**; training steps + analysis passes were 80.0% of that wall time '
        '([benchmarks/results/time_breakdown.md](benchmarks/results/time_breakdown.md); it does not describe the '
        'machine).\n')


def test_a_holds_row(root):
    text = readme_results.block(PAPER, root)
    assert '- **Holds** (1; 1 of the 1 primary claims):' in text
    assert '  - **6** (primary) Claim 6. *holds (ResNet-14 only; 1,000 steps per cell)*.\n' in text  # no estimate


def test_a_reversed_row_says_it_is_not_a_test_of_the_converged_claim(root):
    text = readme_results.block(PAPER, root)
    assert '- **Reversed at 1,000 steps** (1): significantly the other way after 1,000 steps per cell.' in text
    assert 'trained to convergence, so this is not a test of them:' in text
    assert ('  - **15** (secondary) Claim 15. *reversed at 1,000 steps (ResNet-32 vs ResNet-14 only; not a test of '
            'the converged claim)*. Ours: share of small γ: ResNet-32 − ResNet-14: -3.1 [-4.6, -1.5] '
            'points.') in text


def test_a_not_resolvable_row_says_what_a_new_seed_set_needs(root):
    text = readme_results.block(PAPER, root)
    assert 'new confirmatory seed set that would decide it' in text and 'never seeds appended to 3-6' in text
    assert ('  - **11** (secondary) Claim 11. *not resolvable at this budget (ResNet-14 only; 1,000 steps per cell): '
            'a new confirmatory seed set of ≈ 14 seeds*. Ours: all − all_but_bn: +0.1 [-0.6, +0.7] points.') in text


def test_not_measured_rows_are_grouped_by_reason(root):
    text = readme_results.block(PAPER, root)
    assert ('- **Not measured** (3): rows 1, 3: the grid ran on Fashion-MNIST, not CIFAR-10; row 8: needs bn_output '
            'cells.') in text


def test_the_order_follows_the_verdicts(root):
    text = readme_results.block(PAPER, root)
    headings = [line.split('**')[1] for line in text.splitlines() if line.startswith('- **')]
    assert headings == ['Holds', 'Reversed at 1,000 steps', 'Not resolvable at this budget', 'Not measured']


def test_exploratory_rows_and_a_table_without_families(root):
    rows = [claim('X4', EXPLORATORY, 'exploratory (ResNet-14 only; 1,000 steps per cell): seen before',
                  family='-', ours='+44.2 points'), claim('X2', HOLDS, 'holds (ResNet-14 only)', family='-')]
    write_claims(root / PAPER.claims, rows)
    text = readme_results.block(PAPER, root)
    assert '- **Holds** (1):' in text and '  - **X2** Claim X2. *holds (ResNet-14 only)*.' in text
    assert '- **Exploratory** (1): outside every Holm family' in text
    assert '  - **X4** Claim X4. *exploratory (ResNet-14 only; 1,000 steps per cell): seen before*. Ours: +44.2' in text


def test_an_old_claims_csv_is_marked_and_read_without_scopes(root):
    old = [c for c in COLUMNS if c not in ('verdict_text', 'scope', 'budget')]
    rows = [claim('6', HOLDS), claim('11', UNRESOLVED, family='secondary', seeds_needed='6', seeds_needed_holm='14')]
    write_claims(root / PAPER.claims, rows, old)
    (root / PAPER.cells).unlink()
    text = readme_results.block(PAPER, root)
    assert ('**This table predates the current claims code**: reports/claims.csv has no `verdict_text` column') in text
    assert ('reports/grid_cells.csv, the per-seed cells the table is computed from, is not in the repository, so the '
            'table cannot be recomputed here. `make repro` writes both afresh.') in text
    assert '  - **6** (primary) Claim 6. *holds (decided on ResNet-14)*.' in text
    assert ('*not resolvable at this budget (decided on ResNet-14): ≈ 14 seeds at Holm\'s first level (6 for a lone '
            'test), as its table planned them*') in text


def test_a_summary_of_another_grid_is_named(root):
    write_summary(root / PAPER.summary, {'cifar_resnet14-bn_only': 3, 'cifar_resnet14-random_k': 3},
                  {'cifar_resnet14-bn_only': 3})
    text = readme_results.block(PAPER, root)
    assert ('**reports/grid_summary.csv is not this grid\'s**: it holds 6 trained and 3 analysed cells where '
            'grid.yaml declares 8 and 4 (seeds 3-6)') in text
    # the grid file's seeds are not the ones the summary measured, and nothing committed says which those were
    assert 'over 3 seeds, and analysed 3' in text and 'seeds appended to the tested seeds' in text


def test_the_seeds_are_those_of_the_committed_cells(root):
    (root / PAPER.cells).write_text('arch,seed,value\nnet,7,0.5\nnet,8,0.5\nnet,9,0.5\nnet,10,0.5\n')
    text = readme_results.block(PAPER, root)
    assert 'over 4 seeds (7-10)' in text


def test_the_sensitivity_line_is_quoted_under_the_holds(root):
    (root / PAPER.claims.with_suffix('.md')).write_text('# table\n\n| a |\n\nSensitivity (computed from the same '
                                                        'cells): 7 of 8 still hold.\n')
    assert '  - Sensitivity (computed from the same cells): 7 of 8 still hold.\n- **Reversed' in \
        readme_results.block(PAPER, root)


def test_missing_extension_files_are_named_with_the_command_that_writes_them(root):
    text = readme_results.block(EXTENSIONS, root)
    assert text == ('No timed run yet: `make extensions` writes benchmarks/results/time_breakdown_extensions.md.'
                    '\n\nextensions/grid.yaml is missing.'
                    '\n\nIts claims table (extensions/reports/claims.csv) has not been written yet: `make extensions` '
                    'writes it.')


def test_a_run_in_pieces_says_so_and_a_registered_set_not_yet_run_says_what_writes_it(root):
    write_breakdown(root / STUDY.breakdown, pieces=3)
    assert readme_results.block(STUDY, root).startswith(
        'One run of `make study` (`dvc repro`, started 2026-11-29 03:27 UTC, in 3 pieces, stopped and resumed) took')
    assert readme_results.block(SCOPE, root) == (
        'No timed run yet: `make scope` writes benchmarks/results/time_breakdown_scope.md.'
        '\n\nscope/grid.yaml is missing.'
        '\n\nIts claims table (scope/reports/claims.csv) has not been written yet: `make scope` writes it.')


def test_the_command_rewrites_only_the_blocks_and_check_says_when_they_are_stale(root, capsys):
    assert readme_results.main(['--root', str(root), '--check']) == 1
    assert readme_results.main(['--root', str(root)]) == 0
    readme = (root / 'README.md').read_text()
    assert '57.9 min' not in readme and 'Prose that stays.' in readme and readme.startswith('# a project\n')
    assert readme.count(readme_results.start_marker('results')) == 1
    assert readme.count(readme_results.end_marker('extension results')) == 1
    assert readme_results.main(['--root', str(root), '--check']) == 0
    write_claims(root / PAPER.claims, ROWS[:4])
    assert readme_results.main(['--root', str(root), '--check']) == 1


def test_a_readme_without_its_markers_is_an_error(root, capsys):
    (root / 'README.md').write_text('# no blocks\n')
    assert readme_results.main(['--root', str(root)]) == 1
    assert 'needs exactly one block from `<!-- results: ... -->`' in capsys.readouterr().err


def test_every_claims_table_writes_what_the_module_reads():
    """The CSV columns and the sensitivity line come from the claims tables' writer: the names read here."""
    for table in TABLES.values():
        rows = decide([not_measured(c.number, c.claim, c.paper, 'no cells') for c in table.claims],
                      primary=table.primary)
        columns = set(claims_table.to_frame(table, rows).columns)
        assert {'number', 'claim', 'ours', 'family', 'verdict', readme_results.SCOPED, 'budget', 'reason',
                'decided_on', 'seeds_needed', 'seeds_needed_holm'} <= columns, table.name
        if table.primary:
            assert claims_table.sensitivity_text(rows, table.primary).startswith('Sensitivity')
