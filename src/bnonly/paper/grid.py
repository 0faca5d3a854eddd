"""The grid of the paper's figures: its cells, their names and folders, and the recipe every cell reads.

The ``grid`` section of grid.yaml declares two sets of cells, each expanded by a DVC ``matrix`` stage in
dvc.yaml (same order, same names). A *run* is ``<arch>-<trainable>``; a cell is a run and a seed. Listing
runs, not a product of architectures and trainable sets, lets a grid train each network only with the sets
its claims need (the default CPU grid cannot afford every set on every network).

- ``grid``: runs x seeds, BatchNorm initialised as in the paper (γ ~ U[0, 1), β = 0), trained by
  ``grid_train@<arch>-<trainable>-<seed>`` into ``results/grid/<cell>/train``; the runs in ``analyze_runs``
  are analysed by ``grid_analyze@<cell>`` into ``results/grid/<cell>/analyze``.
- ``fixed_init`` (Figure 1): fixed_init.runs x seeds with γ = 1, β = 0 at init, trained by
  ``grid_train_fixed@<cell>`` into ``results/grid_fixed/<cell>/train``.

Every cell reads its recipe (data set, model, training and analysis settings) from ``results/grid_recipe``,
written from the grid section alone by the ``grid_recipe`` stage, and only its run, seed (and the BatchNorm
init) from its command line. The single experiment's params.yaml never reaches it.
The recipe files are the cells' dependencies in place of params (DVC cannot put a list, such as the LR
milestones, into a stage command, and one params dependency per cell costs a params.yaml parse per cell).
"""
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

GRID_DIR = Path('results/grid')
FIXED_DIR = Path('results/grid_fixed')
RECIPE_DIR = Path('results/grid_recipe')
GROUPS = ('grid', 'fixed_init')
_INIT = {'grid': 'uniform', 'fixed_init': 'fixed'}


class GridError(ValueError):
    pass


@dataclass(frozen=True)
class Cell:
    """One trained cell. ``group`` names the grid.yaml list the cell comes from, 'grid' or 'fixed_init'
    (``GROUPS``), and so, one for one, its BatchNorm init (``batchnorm_init``: uniform or fixed), its results
    folder and its DVC stage. It is one fact under two names: the ``group`` column of the aggregated tables
    (bnonly.paper.aggregate), which the claims and figures select on, keeps this name; ``batchnorm_init``
    says what it means for training."""
    group: str          # 'grid' or 'fixed_init'
    arch: str
    trainable: str
    seed: int

    @property
    def name(self) -> str:
        """DVC's name for a matrix item of scalars: the values joined by '-'."""
        return f'{self.arch}-{self.trainable}-{self.seed}'

    @property
    def batchnorm_init(self) -> str:
        return _INIT[self.group]

    @property
    def folder(self) -> Path:
        return (GRID_DIR if self.group == 'grid' else FIXED_DIR) / self.name

    @property
    def train_dir(self) -> Path:
        return self.folder / 'train'

    @property
    def analyze_dir(self) -> Path:
        return self.folder / 'analyze'

    @property
    def train_stage(self) -> str:
        return f'grid_train@{self.name}' if self.group == 'grid' else f'grid_train_fixed@{self.name}'

    @property
    def analyze_stage(self) -> str:
        return f'grid_analyze@{self.name}'


def split_run(run: str) -> tuple[str, str]:
    """``'<arch>-<trainable>'`` -> (arch, trainable). Neither name contains '-', so DVC's matrix joins the run
    and the seed into the cell name ``<arch>-<trainable>-<seed>``."""
    parts = run.split('-')
    if len(parts) != 2 or not all(parts):
        raise GridError(f'{run!r} is not a run: expected <arch>-<trainable>, e.g. cifar_resnet14-bn_only')
    return parts[0], parts[1]


def _cells(group: str, runs, seeds) -> list[Cell]:
    return [Cell(group, *split_run(run), seed) for run, seed in itertools.product(runs, seeds)]


def train_cells(grid: dict) -> list[Cell]:
    """Every trained cell, in the order dvc.yaml's matrices expand them (grid first, then fixed_init)."""
    fixed = grid.get('fixed_init') or {}
    return _cells('grid', grid['runs'], grid['seeds']) + _cells('fixed_init', fixed.get('runs', []), grid['seeds'])


def analysed_cells(grid: dict) -> list[Cell]:
    """The cells the grid_analyze matrix analyses: analyze_runs x seeds."""
    missing = [run for run in grid['analyze_runs'] if run not in grid['runs']]
    if missing:
        raise GridError(f'grid.analyze_runs: {", ".join(missing)} not in grid.runs, so never trained')
    return _cells('grid', grid['analyze_runs'], grid['seeds'])


def recipe(grid: dict) -> dict[str, dict]:
    """The params files the cells read: each a valid params.yaml holding only what its stage script uses."""
    return {
        'prepare': {'dataset': grid['dataset'], 'data': dict(grid['data'])},
        'train': {'dataset': grid['dataset'], 'model': {'batchnorm_init': _INIT['grid'], **grid['model']},
                  'train': dict(grid['train'])},
        'analyze': {'train': {'eval_batch_size': grid['train']['eval_batch_size']},
                    'analyze': dict(grid['analyze'])},
    }


@dataclass(frozen=True)
class ArchInfo:
    arch: str
    family: str         # 'deep' (CIFAR ResNet-D), 'wide' (WRN-14-W) or 'imagenet' (ResNet-D)
    depth: int
    width: int          # width multiplier (1 for every deep and ImageNet network)
    label: str

    @property
    def in_width_family(self) -> bool:
        """WRN-14-W for every W, ResNet-14 being WRN-14-1."""
        return self.family == 'wide' or (self.family == 'deep' and self.depth == 14)

    @property
    def in_depth_family(self) -> bool:
        return self.family in ('deep', 'imagenet')


_PATTERNS = ((re.compile(r'cifar_resnet(\d+)'), 'deep'), (re.compile(r'cifar_wide_resnet14_(\d+)'), 'wide'),
             (re.compile(r'resnet(\d+)'), 'imagenet'))


def arch_info(arch: str) -> ArchInfo:
    for pattern, family in _PATTERNS:
        match = pattern.fullmatch(arch)
        if match:
            number = int(match.group(1))
            if family == 'wide':
                return ArchInfo(arch, family, 14, number, f'WRN-14-{number}')
            return ArchInfo(arch, family, number, 1, f'ResNet-{number}')
    raise GridError(f'{arch!r} is not one of the paper\'s architecture names')
