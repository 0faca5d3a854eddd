"""The schema of params.yaml and grid.yaml, as typed dataclasses.

Each section of a params file is one dataclass below; each of its fields is one key, with its type, its default
(a field without one is a key the stages that read it require) and, in the field's metadata, what values it
allows (``choices``, ``minimum``/``maximum``, ``unique`` ...), which ``bnonly.config`` checks when it reads a
file. The training settings (``RunSettings``, ``ModelSettings``, ``TrainSettings``) are also the fields of
``bnonly.training.RunSpec``, and ``AnalyzeSettings`` those of ``bnonly.analysis.AnalysisSettings``: adding a
setting is adding a field here (and using it).

This module imports neither torch nor timm. The allowed names (data sets, architectures, trainable sets,
initialisations, normalisations, precisions, memory formats, compile modes, dead-ReLU granularities) are the
plain tuples of ``bnonly.vocabulary``, which the modules that implement them import too.
"""
import dataclasses
import functools
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field

from bnonly import vocabulary

# Field metadata (checked by bnonly.config):
#   choices       the allowed values: a tuple (of bnonly.vocabulary, for names)
#   minimum, strict, maximum   bounds of a number (strict: the minimum itself is not allowed)
#   what          how an error names a free string ('a path')
#   non_empty     a list must not be empty (default True); unique: nor repeat an item (a repeated matrix value
#                 would give two DVC stages one name)
#   item          what each item of a list is, checked as such instead of by its type and the rules above:
#                 'run', a grid run (bnonly.vocabulary.parse_run) whose arch and trainable set are valid
#   exclude       fields of a nested section's dataclass that this section does not have
#   omit_default  bnonly.training.RunSpec leaves the field out of its as_dict (and so of its fingerprint) while
#                 it has its default: a setting added later keeps the runs that do not use it the same runs
#   model_keyword the field is a keyword of bnonly.models.create_model beyond the paper's network, passed (and
#                 recorded in the checkpoint) only when it is not its default: model_keywords
_section = dataclass(frozen=True, kw_only=True)  # every settings class: immutable, fields by name only


@_section
class DataSettings:
    """Where the raw files are and whether they are checked (the prepare stage)."""
    root: str | None = field(default=None, metadata={'what': 'a path'})  # None: the data set's default
    verify_checksums: bool = True  # False only for stand-in data, which cannot match the recorded checksums


@_section
class RunSettings:
    """The top-level keys of a params file: which run."""
    dataset: str = field(metadata={'choices': vocabulary.DATASETS})
    arch: str = field(metadata={'choices': vocabulary.ARCHITECTURES})
    trainable: str = field(metadata={'choices': vocabulary.TRAINABLE_SETS})
    seed: int = field(metadata={'minimum': 0})


@_section
class ModelSettings:
    """How the network is built and initialised."""
    norm_init: str = field(metadata={'choices': vocabulary.NORM_INITS})  # γ and β of every affine normalisation
    weight_init: str = field(metadata={'choices': vocabulary.WEIGHT_INITS})
    k: int = field(metadata={'minimum': 1})  # weights per conv output channel that the random_k sets train
    # Beyond the paper (CIFAR ResNets only): the normalisation every BatchNorm is replaced by.
    norm_layer: str = field(default='batchnorm', metadata={
        'choices': vocabulary.NORM_LAYERS, 'omit_default': True, 'model_keyword': True})


@_section
class TrainSettings:
    """open_lth's recipe, and how its arithmetic is done (bnonly.training.numerics, .compiling)."""
    epochs: int = field(metadata={'minimum': 0, 'strict': True})
    batch_size: int = field(metadata={'minimum': 1})
    lr: float = field(metadata={'minimum': 0, 'strict': True})
    momentum: float = field(metadata={'minimum': 0, 'maximum': 1})
    weight_decay: float = field(metadata={'minimum': 0})
    milestones: tuple[int, ...] = field(metadata={'minimum': 0, 'non_empty': False})
    gamma: float = field(metadata={'minimum': 0, 'strict': True})
    warmup_epochs: int = field(metadata={'minimum': 0})
    eval_batch_size: int = field(default=128, metadata={'minimum': 1})
    examples: int | None = field(default=None, metadata={'minimum': 1})  # a fixed subset of the training set
    # The defaults are open_lth's fp32, eager; channels_last computes the same values (numerics.py).
    precision: str = field(default='fp32', metadata={'choices': vocabulary.PRECISIONS})
    memory_format: str = field(default='channels_last', metadata={'choices': vocabulary.MEMORY_FORMATS})
    compile: bool | str = field(default=False, metadata={'choices': vocabulary.COMPILE_MODES})
    # Test after every epoch (open_lth), or only after the last one (history.py). In the fingerprint: a resume
    # state with per-epoch test columns is not the same run as one without.
    eval_every_epoch: bool = True


@_section
class AnalyzeSettings:
    """What the analysis measures (bnonly.analysis)."""
    thresholds: tuple[float, ...] = field(metadata={'minimum': 0, 'strict': True})  # |γ| thresholds
    dead_relu_probability: float = field(default=0.99, metadata={'minimum': 0, 'maximum': 1})
    dead_relu_granularity: str = field(default='channel', metadata={'choices': vocabulary.GRANULARITIES})
    histogram_bins: int = field(default=50, metadata={'minimum': 1})


_RUNS = {'unique': True, 'item': 'run'}


@_section
class GridSettings:
    """The paper grid (bnonly.paper.grid): its cells, and its own copy of the recipe, so that experiments on
    the single run never change a grid cell. The recipe's norm init is the paper's; a run sets another with a
    variant token (``-fixed``: γ = 1, β = 0, Figure 1's cells)."""
    dataset: str = field(metadata={'choices': vocabulary.DATASETS})
    data: DataSettings
    runs: tuple[str, ...] = field(metadata=_RUNS)
    seeds: tuple[int, ...] = field(metadata={'minimum': 0, 'unique': True})
    analyze_runs: tuple[str, ...] = field(metadata=_RUNS)
    model: ModelSettings = field(metadata={'exclude': ('norm_init',)})
    train: TrainSettings
    analyze: AnalyzeSettings


@_section
class FiguresSettings:
    """Drawing the grid's figures (bnonly.paper.figures); changing these reruns only the figure stages."""
    dpi: int = field(default=150, metadata={'minimum': 50, 'maximum': 1200})
    histogram_bins: int = field(default=40, metadata={'minimum': 2})  # Figure 4
    gamma_thresholds: tuple[float, ...] = field(  # Figure 5
        default=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5),
        metadata={'minimum': 0, 'strict': True, 'unique': True})


@_section
class ParamsFile(RunSettings):
    """A whole params file. Every key is optional here: a stage requires what it reads (``bnonly.config``'s
    ``require`` and ``section_values``). params.yaml holds the single run's sections, grid.yaml the grid's and
    the figures'."""
    data: DataSettings
    model: ModelSettings
    train: TrainSettings
    analyze: AnalyzeSettings
    grid: GridSettings
    figures: FiguresSettings


@functools.cache
def fields_of(cls) -> dict[str, tuple[dataclasses.Field, object]]:
    """Field name -> (field, resolved type) of a settings dataclass, in declaration order."""
    hints = typing.get_type_hints(cls)
    return {f.name: (f, hints[f.name]) for f in dataclasses.fields(cls)}


def choices(cls, name: str) -> tuple:
    """The values the field ``name`` of ``cls`` allows."""
    return tuple(fields_of(cls)[name][0].metadata['choices'])


def default(cls, name: str):
    """The default of the field ``name`` of ``cls``."""
    value = fields_of(cls)[name][0].default
    if value is dataclasses.MISSING:
        raise KeyError(f'{cls.__name__}.{name} has no default')
    return value


def is_required(f: dataclasses.Field) -> bool:
    """Whether a field has no default: a key a stage reading its section needs."""
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def required_keys(cls) -> tuple[str, ...]:
    """The fields of ``cls`` without a default: the keys a stage reading that section needs."""
    return tuple(name for name, (f, _) in fields_of(cls).items() if is_required(f))


def model_keywords(values: Mapping) -> dict:
    """The ``create_model`` keywords beyond the paper's network (fields marked ``model_keyword``) among
    ``values`` (a run's settings, or a checkpoint's fields), each only where it is present and not its
    default: a paper network is built, fingerprinted and saved exactly as before such settings existed."""
    return {name: values[name] for name, (f, _) in fields_of(ModelSettings).items()
            if f.metadata.get('model_keyword') and name in values and values[name] != f.default}
