"""The DVC pipelines of this project, declared once: every dvc.yaml is generated from this module.

DVC has no include mechanism, so the stages shared by the pipelines (the grid, its figures and its claims
table) are templates here, and each pipeline is a declaration (``PIPELINES``): the folder its dvc.yaml lives
and runs in, its grid file, its claims table and its figures. A stage's code deps are not written by hand:
they are the import closure of its script (``bnonly.stage_deps``), computed when the files are written.

    python -m bnonly.pipelines            # rewrite every pipeline's dvc.yaml
    python -m bnonly.pipelines --check    # exit 1 naming each dvc.yaml that differs from what this writes

tests/test_pipelines.py fails when a committed dvc.yaml is not this module's output, so neither can drift.
"""
import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from bnonly import atomic
from bnonly.stage_deps import PROJECT, as_deps, closure
from bnonly.yaml_text import Flow, Folded, Note, beside, comment_lines, plain, scalar, yaml_lines

GENERATOR = 'python -m bnonly.pipelines'


@dataclass(frozen=True)
class Pipeline:
    """One dvc.yaml: where it lives, what it runs on and what it reports."""
    folder: str               # its dvc.yaml's folder, relative to the project root; its stages run there
    grid: str                 # its grid file (runs, seeds, recipe, figure settings), relative to ``folder``
    table: str                # its claims table, the --table of its claims and figure stages
    figures: tuple            # the figures it draws, one stage each
    title: str                # what its comments call its grid
    about: str                # what opens its dvc.yaml: what it is for and how to run it
    figure_options: tuple = ('history',)  # the aggregated tables its figure command names (AGGREGATED's keys)
    figure_stem: str = '${item}'  # a figure's file under reports/figures, without its suffix
    single_experiment: bool = False   # the root's one configurable experiment (params.yaml) and Table 1

    @property
    def path(self) -> str:
        """Its dvc.yaml, relative to the project root."""
        return os.path.normpath(os.path.join(self.folder, 'dvc.yaml'))

    def code(self, path: str) -> str:
        """A file of the project's code (relative to the project root) as this pipeline's stages name it."""
        return os.path.relpath(path, self.folder)


@dataclass(frozen=True)
class Stage:
    """One stage (or one foreach/matrix template): its name, how it loops, what it runs, what it reads, writes."""
    name: str
    script: str               # the stage script, relative to the project root
    args: str                 # the command line after `python <script>`
    inputs: tuple = ()        # deps other than code, as the pipeline names them
    loop: dict | None = None  # {'matrix': {...}} or {'foreach': [...]}
    body: dict | None = None  # params, outs, metrics, plots, in the order written
    comment: str = ''         # the paragraphs above the stage
    note: str = ''            # the comment beside its name


def _span(items: tuple) -> str:
    """Figures 1-8, E1-E4."""
    return f'{items[0]}-{items[-1]}' if len(items) > 1 else f'{items[0]}'


def _names(names: list[str]) -> str:
    return ', '.join(names[:-1]) + f' and {names[-1]}' if len(names) > 1 else ''.join(names)


def _grid_params(p: Pipeline, *keys: str) -> list:
    return [{p.grid: [f'grid.{key}' for key in keys]}]


def _uncached(path: str, **settings) -> dict:
    return {path: {'cache': False, **settings}}


# ---- The single experiment (the root pipeline only): prepare -> train -> analyze, plus Table 1.

def census(p: Pipeline) -> Stage:
    return Stage('census', 'stages/census.py', '--out reports',
                 body={'outs': [_uncached('reports/table1.md'), _uncached('reports/table1.csv')]},
                 comment='---- The single experiment, set in params.yaml: Table 1 (census), then prepare -> train '
                         '-> analyze. `dvc exp run -S key=value` varies it; the grid below never reads params.yaml.')


def prepare(p: Pipeline) -> Stage:
    return Stage('prepare', 'stages/prepare.py', '--out data/prepared',
                 body={'params': ['dataset', 'data'], 'outs': ['data/prepared']})


def train(p: Pipeline) -> Stage:
    return Stage('train', 'stages/train.py', '--data data/prepared --out results/train', inputs=('data/prepared',),
                 body={'params': ['dataset', 'arch', 'trainable', 'seed', 'model', 'train'],
                       'outs': ['results/train/model.pt', 'results/train/config.yaml'],
                       'metrics': [_uncached('results/train/metrics.json')],
                       'plots': [_uncached('results/train/history.csv', x='epoch', y='test_accuracy')]})


def analyze(p: Pipeline) -> Stage:
    return Stage('analyze', 'stages/analyze.py',
                 '--checkpoint results/train/model.pt --data data/prepared --out results/analyze',
                 inputs=('results/train/model.pt', 'data/prepared'),
                 body={'params': ['analyze', 'train.eval_batch_size'],
                       'metrics': [_uncached('results/analyze/metrics.json')],
                       'outs': ['results/analyze/tables'],
                       'plots': [_uncached('results/analyze/plots')]})


# ---- The grid (every pipeline): cells <arch>-<trainable>-<seed>, their aggregate, figures and claims table.

CELL = 'results/grid/${item.run}-${item.seed}'
# The aggregate's tables, by the option of stages/aggregate.py and stages/figures.py that names each.
AGGREGATED = {'summary': 'reports/grid_summary.csv', 'bn-values': 'results/grid_bn_values.csv',
              'history': 'results/grid_history.csv', 'summary-json': 'results/grid_summary.json'}


def _options(*names: str) -> str:
    return ' '.join(f'--{name} {AGGREGATED[name]}' for name in names)


def grid_recipe(p: Pipeline) -> Stage:
    return Stage('grid_recipe', 'stages/grid_recipe.py', f'--params {p.grid} --out results/grid_recipe',
                 body={'params': _grid_params(p, 'dataset', 'data', 'model', 'train', 'analyze', 'runs',
                                              'analyze_runs'),
                       'outs': ['results/grid_recipe/prepare.yaml', 'results/grid_recipe/train.yaml',
                                'results/grid_recipe/analyze.yaml']},
                 comment=f'---- {p.title.capitalize()}: Figures {_span(p.figures)} and the claims table '
                         f'`{p.table}` from cells <arch>-<trainable>-<seed>, each its own cached stage (runs and '
                         f'seeds: {p.grid}). The cells take their settings only from results/grid_recipe, written '
                         f'from {p.grid}, so editing params.yaml reruns none of them and adding a seed or a run runs '
                         'only the new cells. They declare no params: the recipe file they depend on stands for the '
                         "grid keys behind it (grid_recipe's params), one params file parse instead of one per cell.")


def grid_prepare(p: Pipeline) -> Stage:
    return Stage('grid_prepare', 'stages/prepare.py',
                 '--params results/grid_recipe/prepare.yaml --out data/grid_prepared',
                 inputs=('results/grid_recipe/prepare.yaml',),
                 body={'params': _grid_params(p, 'dataset', 'data'), 'outs': ['data/grid_prepared']})


def grid_train(p: Pipeline) -> Stage:
    return Stage('grid_train', 'stages/train.py',
                 f'--params results/grid_recipe/train.yaml --data data/grid_prepared --out {CELL}/train '
                 '--run ${item.run} --set seed=${item.seed}',
                 inputs=('results/grid_recipe/train.yaml', 'data/grid_prepared'),
                 loop={'matrix': {'run': '${grid.runs}', 'seed': '${grid.seeds}'}},
                 body={'outs': [f'{CELL}/train/model.pt', f'{CELL}/train/config.yaml'],
                       'metrics': [f'{CELL}/train/metrics.json'],
                       'plots': [f'{CELL}/train/history.csv']})


def grid_analyze(p: Pipeline) -> Stage:
    return Stage('grid_analyze', 'stages/analyze.py',
                 f'--params results/grid_recipe/analyze.yaml --data data/grid_prepared '
                 f'--checkpoint {CELL}/train/model.pt --out {CELL}/analyze --no-progress --no-plots',
                 inputs=(f'{CELL}/train/model.pt', 'results/grid_recipe/analyze.yaml', 'data/grid_prepared'),
                 loop={'matrix': {'run': '${grid.analyze_runs}', 'seed': '${grid.seeds}'}},
                 body={'outs': [f'{CELL}/analyze/tables'], 'metrics': [f'{CELL}/analyze/metrics.json']})


def grid_aggregate(p: Pipeline) -> Stage:
    return Stage('grid_aggregate', 'stages/aggregate.py',
                 f'--params {p.grid} --cells reports/grid_cells.csv {_options(*AGGREGATED)}',
                 inputs=('results/grid',),
                 body={'params': _grid_params(p, 'runs', 'seeds', 'analyze_runs'),
                       'outs': [Note(_uncached('reports/grid_cells.csv'),
                                     'every cell x metric, in git: the claims are recomputable from it'),
                                Note(AGGREGATED['bn-values'],
                                     'every trained γ and β of the analysed cells (DVC-cached, not in git)'),
                                Note(AGGREGATED['history'],
                                     "every trained cell's per-epoch history (γ shares over training)"),
                                _uncached(AGGREGATED['summary'])],
                       'metrics': [_uncached(AGGREGATED['summary-json'])]})


def figure(p: Pipeline) -> Stage:
    # The summaries are read whether the command names them or not (they are the script's defaults).
    read = ('summary', 'summary-json', *(name for name in ('bn-values', 'history') if name in p.figure_options))
    stem = f'reports/figures/{p.figure_stem}'
    parts = (f'--table {p.table} --params {p.grid} --figure ${{item}}', _options(*p.figure_options), f'--out {stem}')
    return Stage('figure', 'stages/figures.py', ' '.join(part for part in parts if part),
                 inputs=tuple(AGGREGATED[name] for name in read),
                 loop={'foreach': Flow(p.figures)},
                 body={'params': [{p.grid: ['figures']}],
                       'outs': [_uncached(f'{stem}.png'), _uncached(f'{stem}.pdf')]},
                 note=f'Figures {_span(p.figures)} ({p.table}), drawn from the aggregated tables')


def claims(p: Pipeline) -> Stage:
    return Stage('claims', 'stages/claims.py',
                 f'--table {p.table} --cells reports/grid_cells.csv {_options("summary", "summary-json")} '
                 '--out reports/claims.md --csv reports/claims.csv',
                 inputs=('reports/grid_cells.csv', AGGREGATED['summary'], AGGREGATED['summary-json']),
                 body={'outs': [_uncached('reports/claims.md'), _uncached('reports/claims.csv')]})


SINGLE_EXPERIMENT = (census, prepare, train, analyze)
GRID = (grid_recipe, grid_prepare, grid_train, grid_analyze, grid_aggregate, figure, claims)

PIPELINES = (
    Pipeline(folder='.', grid='grid.yaml', table='paper', figures=(1, 2, 3, 4, 5, 6, 7, 8), title='the paper grid',
             figure_options=('bn-values', 'history'), figure_stem='figure${item}', single_experiment=True,
             about='The root pipeline: one experiment (prepare -> train -> analyze, set in params.yaml) with '
                   'Table 1, and the paper grid (grid.yaml) with its figures and claims table. `dvc repro` runs '
                   'it.'),
    Pipeline(folder='extensions', grid='grid.yaml', table='extensions', figures=('E1', 'E2', 'E3', 'E4'),
             title='the extensions grid', figure_options=('summary', 'summary-json', 'history'),
             about='The extensions pipeline: questions beyond the paper (γ or β; BatchNorm or any affine '
                   'normalisation; a ViT; the initialisation), asked with the paper grid\'s recipe. '
                   '`dvc repro extensions/dvc.yaml` (`make extensions`) runs it; the root `dvc repro` does not '
                   '(it reproduces the root dvc.yaml).'),
    Pipeline(folder='study', grid='grid.yaml', table='study', figures=('S1',), title='the budget study grid',
             about='The budget study, pre-registered in study/registration.yaml before any of its cells was trained: '
                   'BN-only ResNet-14, ResNet-32 and WRN-14-2 at 1,000 and 3,000 SGD steps on fresh seeds, tests '
                   'B1-B7 (study/reports/claims.md). `dvc repro study/dvc.yaml` (`make study`) runs it; the root '
                   '`dvc repro` does not.'),
    Pipeline(folder='scope', grid='grid.yaml', table='scope', figures=(2,), title='the scope set grid',
             figure_options=(), figure_stem='figure${item}',
             about='The scope set, pre-registered in scope/registration.yaml before any of its cells was trained: '
                   'the paper table\'s rows 6, 7, 8, 14 and 18 on the networks the default grid left out, on fresh '
                   'seeds (scope/reports/claims.md). `dvc repro scope/dvc.yaml` (`make scope`) runs it; the root '
                   '`dvc repro` does not.'),
)


def stages(p: Pipeline) -> list[Stage]:
    return [template(p) for template in (SINGLE_EXPERIMENT if p.single_experiment else ()) + GRID]


def definition(p: Pipeline, stage: Stage) -> dict:
    """The stage as its dvc.yaml holds it, its deps computed from its script's imports."""
    cmd = Folded(f'python {p.code(stage.script)} {stage.args}')
    code = as_deps(closure(stage.script, cmd))
    body = {'cmd': cmd, 'deps': [*stage.inputs, *(p.code(path) for path in [stage.script, *code])],
            **(stage.body or {})}
    loop = stage.loop or {}
    return {**loop, 'do': body} if 'foreach' in loop else {**loop, **body}


def _preamble(p: Pipeline, definitions: dict[str, dict]) -> str:
    """The paragraphs above a pipeline's stages: what it is, where its paths start, the rules of its deps and
    caching (with its own stages named)."""
    paragraphs = [p.about]
    if p.folder != '.':
        up = os.path.relpath('.', p.folder)
        paragraphs.append(f'Every stage here runs in {p.folder}/, so its paths are relative to that folder: the '
                          f"stage scripts and the library are the root's ({up}/stages, {up}/src), the cells, tables, "
                          f"figures and claims are {p.folder}/'s own.")
    paragraphs.append("Each stage's deps are exactly the library files its script imports (bnonly.stage_deps "
                      'computes them when this file is generated, a folder when the stage imports all of it), so '
                      'editing a module reruns only the stages that run it.')
    reports = [name for name, stage in definitions.items()
               if any(isinstance(out, dict) and not next(iter(out.values())).get('cache', True)
                      for out in stage.get('do', stage).get('outs', []))]
    kept = [name for name in definitions if name not in reports]
    paragraphs.append("A `cache: false` entry under `outs` switches DVC's run-cache off for its stage: the cheap "
                      f'report stages ({_names(reports)}) have one and rerun, while the stages worth restoring on '
                      f'another machine ({_names(kept)}) cache every output but the small git-tracked files under '
                      'metrics and plots. The grid cells cache even their metrics: `dvc push` sends only cached '
                      'files, and another machine restoring a cell from the run-cache needs all of them.')
    return '\n\n'.join(paragraphs)


def render(p: Pipeline) -> str:
    """The text of ``p``'s dvc.yaml."""
    written = [(stage, definition(p, stage)) for stage in stages(p)]
    definitions = {stage.name: plain(body) for stage, body in written}
    lines = comment_lines(f'Generated by `{GENERATOR}` from src/bnonly/pipelines.py, which declares the stages of '
                     'every pipeline once: edit them there, then rerun it (`--check` names the files it would '
                     'change). Do not edit this file by hand: tests/test_pipelines.py fails until it is '
                     'regenerated.')
    grid = beside(f'  - {scalar(p.grid)}', f"{p.title}'s runs and seeds, for the matrix stages below")
    lines += ['vars:', grid, '']
    lines += comment_lines(_preamble(p, definitions))
    lines.append('stages:')
    for number, (stage, body) in enumerate(written):
        if number:
            lines.append('')
        if stage.comment:
            lines += comment_lines(stage.comment, '  ')
        lines.append(beside(f'  {stage.name}:', stage.note))
        lines += yaml_lines(body, '    ')
    text = '\n'.join(lines) + '\n'
    if yaml.safe_load(text) != {'vars': [p.grid], 'stages': definitions}:
        raise AssertionError(f'{p.path}: the written text does not read back as its definition')
    return text


def stale(root: Path = PROJECT) -> list[str]:
    """The pipeline files under ``root`` that differ from what this module writes."""
    return [p.path for p in PIPELINES
            if not (root / p.path).is_file() or (root / p.path).read_text() != render(p)]


def main(argv: list[str] | None = None, root: Path = PROJECT) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--check', action='store_true', help='write nothing; exit 1 naming the files that differ')
    args = parser.parse_args(argv)
    if args.check:
        differing = stale(root)
        for path in differing:
            print(f'{path} differs from what `{GENERATOR}` writes', file=sys.stderr)
        return 1 if differing else 0
    for p in PIPELINES:
        path = root / p.path
        text = render(p)
        if not path.is_file() or path.read_text() != text:
            atomic.write_text(path, text)
            print(f'wrote {p.path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
