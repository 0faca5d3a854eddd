"""The grid of the paper's figures: its cells, their names and folders, and the recipe every cell reads.

The ``grid`` section of grid.yaml declares the cells, expanded by DVC ``matrix`` stages in dvc.yaml (same
order, same names). A *run* is ``<arch>-<trainable>``, optionally followed by variant tokens that change one
model setting each (``<arch>-<trainable>-groupnorm``, ``...-fixed``, ``...-orthogonal``, ``...-k1``:
bnonly.vocabulary.parse_run); a cell is a run and a seed. Listing runs, not a product of architectures and
trainable sets, lets a grid train each network only with the sets its claims need (the default CPU grid cannot
afford every set on every network), and any variant is one more run: Figure 1's cells, γ = 1, β = 0 at init,
are the ``-fixed`` runs.

- ``runs`` x ``seeds``, each trained by ``grid_train@<run>-<seed>`` into ``results/grid/<cell>/train``, with
  the recipe's model settings (norms initialised as in the paper, γ ~ U[0, 1), β = 0) except those its
  variant tokens set;
- ``analyze_runs`` x ``seeds``, each analysed by ``grid_analyze@<cell>`` into ``results/grid/<cell>/analyze``.

Every cell reads its recipe (data set, model, training and analysis settings) from ``results/grid_recipe``,
written from the grid section alone by the ``grid_recipe`` stage, and only its run (with its variants) and seed
from its command line. The single experiment's params.yaml never reaches it.
The recipe files are the cells' dependencies in place of params (DVC cannot put a list, such as the LR
milestones, into a stage command, and one params dependency per cell costs a params.yaml parse per cell).
"""
import itertools
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bnonly.vocabulary import BUDGET_KEY, RUN_VARIANT_KEYS, ConfigError, budget_milestones, parse_run, variant_token

GRID_DIR = Path('results/grid')
RECIPE_DIR = Path('results/grid_recipe')
# The recipe's norm init, the paper's (γ ~ U[0, 1), β = 0): grid.model may not set it (bnonly.config), a
# run's variant token may.
RECIPE_NORM_INIT = 'uniform'

FAMILY_ORDER = {'deep': 0, 'wide': 1, 'imagenet': 2, 'vit': 3}


class GridError(ValueError):
    pass


@dataclass(frozen=True)
class Cell:
    """One trained cell: a run (its arch, trainable set and ``variants``, the model settings its variant tokens
    set: model key -> value, in the run's order, with ``epochs`` for a budget token e<N>; empty for the paper's
    runs) and a seed."""
    arch: str
    trainable: str
    seed: int
    # Left out of the hash (a mapping has none); equal cells still hash alike.
    variants: Mapping = field(default_factory=dict, hash=False)

    def __post_init__(self):
        unknown = set(self.variants) - {*RUN_VARIANT_KEYS, BUDGET_KEY}
        if unknown:
            raise GridError(f'{sorted(unknown)} are not run variants; valid: {", ".join(RUN_VARIANT_KEYS)}')
        object.__setattr__(self, 'variants', types.MappingProxyType(dict(self.variants)))  # frozen, like the cell

    @classmethod
    def from_run(cls, run: str, seed: int) -> 'Cell':
        arch, trainable, variants = _parse(run)
        return cls(arch, trainable, seed, variants)

    @property
    def run(self) -> str:
        """The run as grid.yaml writes it: parse_run reads each token one way, so this is the string parsed."""
        return '-'.join([self.arch, self.trainable, *(variant_token(k, v) for k, v in self.variants.items())])

    @property
    def name(self) -> str:
        """DVC's name for a matrix item of scalars: the values (run, seed) joined by '-'."""
        return f'{self.run}-{self.seed}'

    @property
    def norm_init(self) -> str:
        return self.variants.get('norm_init', RECIPE_NORM_INIT)

    # The other settings default to the recipe's (grid.model), which a cell does not know: None. The aggregated
    # tables read what the cell actually trained with from its config.yaml.
    @property
    def norm_layer(self) -> str | None:
        return self.variants.get('norm_layer')

    @property
    def weight_init(self) -> str | None:
        return self.variants.get('weight_init')

    @property
    def k(self) -> int | None:
        return self.variants.get('k')

    @property
    def epochs(self) -> int | None:
        """The budget its e<N> token sets (train.epochs, the recipe's milestones scaled); None: the recipe's."""
        return self.variants.get(BUDGET_KEY)

    @property
    def model_variants(self) -> dict:
        """The model settings its variant tokens set (all but the budget)."""
        return {key: value for key, value in self.variants.items() if key != BUDGET_KEY}

    @property
    def folder(self) -> Path:
        return GRID_DIR / self.name

    @property
    def train_dir(self) -> Path:
        return self.folder / 'train'

    @property
    def analyze_dir(self) -> Path:
        return self.folder / 'analyze'

    @property
    def train_stage(self) -> str:
        return f'grid_train@{self.name}'

    @property
    def analyze_stage(self) -> str:
        return f'grid_analyze@{self.name}'


def _parse(run: str) -> tuple[str, str, dict]:
    try:
        return parse_run(run)
    except ConfigError as error:
        raise GridError(str(error)) from None


def split_run(run: str) -> tuple[str, str]:
    """A run's (arch, trainable), whatever its variants (bnonly.vocabulary.parse_run)."""
    return _parse(run)[:2]


def _cells(runs, seeds) -> list[Cell]:
    return [Cell.from_run(run, seed) for run, seed in itertools.product(runs, seeds)]


def train_cells(grid: dict) -> list[Cell]:
    """Every trained cell, in the order dvc.yaml's grid_train matrix expands them: runs x seeds."""
    cells = _cells(grid['runs'], grid['seeds'])
    recipe_norm = (grid.get('model') or {}).get('norm_layer', 'batchnorm')
    for cell in cells:
        if cell.epochs is not None:  # refused here, before any cell trains, rather than by its train stage
            try:
                budget_milestones(grid['train']['milestones'], grid['train']['epochs'], cell.epochs, cell.run)
            except ConfigError as error:
                raise GridError(str(error)) from None
        # timm would take another norm_layer for its own networks' layers and build something else entirely.
        norm = cell.norm_layer or recipe_norm
        if norm != 'batchnorm' and arch_info(cell.arch).builtin_norm is not None:
            raise GridError(f'{cell.run}: model.norm_layer={norm} swaps the CIFAR ResNets\' BatchNorms only; '
                            f'{cell.arch} is built with its own normalisation')
    return cells


def analysed_cells(grid: dict) -> list[Cell]:
    """The cells the grid_analyze matrix analyses: analyze_runs x seeds."""
    missing = [run for run in grid['analyze_runs'] if run not in grid['runs']]
    if missing:
        raise GridError(f'grid.analyze_runs: {", ".join(missing)} not in grid.runs, so never trained')
    return _cells(grid['analyze_runs'], grid['seeds'])


def paper_runs(frame):
    """The rows of runs without variant tokens. A variant run (e.g. ``cifar_resnet14-bn_only-fixed``) is another
    experiment with the same arch and trainable set: the paper's figures and claims must not pool it with the
    paper's run. Tables without a ``run`` column (written before runs had variants) are all paper runs."""
    if 'run' not in frame.columns:
        return frame
    return frame[frame['run'] == frame['arch'] + '-' + frame['trainable']]


def variant_runs(frame, tokens: str):
    """The rows of the runs ``<arch>-<trainable>-<tokens>``, ``tokens`` being variant tokens joined by '-' (e.g.
    ``'fixed'``, Figure 1's γ = 1, β = 0): neither the paper's runs nor those of any other variant."""
    if 'run' not in frame.columns:
        return frame.iloc[:0]
    return frame[frame['run'] == frame['arch'] + '-' + frame['trainable'] + '-' + tokens]


def recipe(grid: dict) -> dict[str, dict]:
    """The params files the cells read: each a valid params.yaml holding only what its stage script uses."""
    return {
        'prepare': {'dataset': grid['dataset'], 'data': dict(grid['data'])},
        'train': {'dataset': grid['dataset'], 'model': {'norm_init': RECIPE_NORM_INIT, **grid['model']},
                  'train': dict(grid['train'])},
        'analyze': {'train': {'eval_batch_size': grid['train']['eval_batch_size']},
                    'analyze': dict(grid['analyze'])},
    }


@dataclass(frozen=True)
class ArchInfo:
    arch: str
    family: str         # 'deep' (CIFAR ResNet-D), 'wide' (WRN-14-W), 'imagenet' (ResNet-D) or 'vit'
    depth: int          # a ViT's: its number of transformer blocks
    width: int          # width multiplier (1 for every deep, ImageNet and ViT network)
    label: str

    @property
    def sort_key(self) -> tuple[int, int, int]:
        """Tables and figures list networks by family (deep, wide, ImageNet, ViT), then depth, then width."""
        return FAMILY_ORDER[self.family], self.depth, self.width

    @property
    def in_width_family(self) -> bool:
        """WRN-14-W for every W, ResNet-14 being WRN-14-1."""
        return self.family == 'wide' or (self.family == 'deep' and self.depth == 14)

    @property
    def in_depth_family(self) -> bool:
        return self.family in ('deep', 'imagenet')  # not 'vit': its depth counts blocks, not layers

    @property
    def builtin_norm(self) -> str | None:
        """The normalisation the network is built with whatever model.norm_layer says (the ViT's LayerNorms);
        None for the CIFAR ResNets, whose model.norm_layer chooses it."""
        return {'imagenet': 'batchnorm', 'vit': 'layernorm'}.get(self.family)


_PATTERNS = ((re.compile(r'cifar_resnet(\d+)'), 'deep'), (re.compile(r'cifar_wide_resnet14_(\d+)'), 'wide'),
             (re.compile(r'resnet(\d+)'), 'imagenet'))
# The ViTs (bnonly.models.vit, which imports timm: this module must not): name -> (blocks, label). A test
# checks the block count against the model's configuration.
_VITS = {'vit_fmnist_tiny': (4, 'ViT-tiny')}


def arch_info(arch: str) -> ArchInfo:
    if arch in _VITS:
        blocks, label = _VITS[arch]
        return ArchInfo(arch, 'vit', blocks, 1, label)
    for pattern, family in _PATTERNS:
        match = pattern.fullmatch(arch)
        if match:
            number = int(match.group(1))
            if family == 'wide':
                return ArchInfo(arch, family, 14, number, f'WRN-14-{number}')
            return ArchInfo(arch, family, number, 1, f'ResNet-{number}')
    raise GridError(f'{arch!r} is not one of the grid\'s architecture names (the paper\'s and {", ".join(_VITS)})')
