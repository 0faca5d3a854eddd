"""Everything that determines a training run, taken from params.yaml."""
import dataclasses
import hashlib
import json

from bnonly.config import require

# Optional train keys (params files written before they existed get the dataclass defaults).
NUMERICS = ('precision', 'memory_format', 'compile')
OPTIONAL = (*NUMERICS, 'eval_every_epoch')


@dataclasses.dataclass(frozen=True)
class RunSpec:
    dataset: str
    arch: str
    trainable: str
    seed: int
    batchnorm_init: str
    weight_init: str
    random_k: int
    epochs: int
    batch_size: int
    lr: float
    momentum: float
    weight_decay: float
    milestones: tuple[int, ...]
    gamma: float
    warmup_epochs: int
    eval_batch_size: int
    examples: int | None = None  # train on a fixed subset of this many images (None: all)
    # How the arithmetic is done (numerics.py, compiling.py); the defaults are open_lth's fp32, eager.
    precision: str = 'fp32'                 # fp32 | bf16 (autocast, fp32 master weights and BN statistics)
    memory_format: str = 'channels_last'    # channels_last | contiguous (NCHW, bit-identical to the old engine)
    compile: bool | str = False             # false | true | a torch.compile mode
    # Evaluate the test set after every epoch (open_lth), or only after the last one (history.py). Part of
    # the fingerprint: a resume state with per-epoch test columns is not the same run as one without.
    eval_every_epoch: bool = True

    @classmethod
    def from_params(cls, params: dict) -> 'RunSpec':
        require(params, 'dataset', 'arch', 'trainable', 'seed', 'model', 'train')
        model, train = params['model'], params['train']
        require(params, *(f'model.{k}' for k in ('batchnorm_init', 'weight_init', 'random_k')),
                *(f'train.{k}' for k in ('epochs', 'batch_size', 'lr', 'momentum', 'weight_decay', 'milestones',
                                         'gamma', 'warmup_epochs', 'eval_batch_size')))
        return cls(dataset=params['dataset'], arch=params['arch'], trainable=params['trainable'],
                   seed=params['seed'], milestones=tuple(train['milestones']), examples=train.get('examples'),
                   **{k: train[k] for k in OPTIONAL if k in train},
                   **{k: model[k] for k in ('batchnorm_init', 'weight_init', 'random_k')},
                   **{k: train[k] for k in ('epochs', 'batch_size', 'lr', 'momentum', 'weight_decay', 'gamma',
                                            'warmup_epochs', 'eval_batch_size')})

    def as_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    def fingerprint(self, data_meta: dict) -> str:
        """A key for the resume state: the spec plus the prepared data it trains on."""
        blob = json.dumps({'spec': self.as_dict(), 'data': data_meta}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]
