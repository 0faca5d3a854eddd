"""A tiny prepared data set in the layout the prepare stage writes (meta.json, train.pt, test.pt)."""
import json
from pathlib import Path

import torch


def write_prepared(path: Path, *, train: int = 96, test: int = 40, size: int = 12, channels: int = 1,
                   classes: int = 10, seed: int = 0) -> Path:
    """Images whose class is visible (a bright square at a class-dependent place), so a net can learn."""
    path.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(seed)
    for split, count in (('train', train), ('test', test)):
        labels = torch.arange(count) % classes
        images = torch.randint(0, 60, (count, channels, size, size), generator=generator, dtype=torch.uint8)
        for index, label in enumerate(labels.tolist()):
            row, col = divmod(label, 4)
            images[index, :, 3 * row:3 * row + 3, 3 * col:3 * col + 3] = 255
        torch.save({'images': images, 'labels': labels}, path / f'{split}.pt')
    meta = dict(dataset='fashion_mnist', num_classes=classes, in_chans=channels, image_size=[size, size],
                mean=[0.3] * channels, std=[0.3] * channels, train_size=train, test_size=test,
                classes=[str(c) for c in range(classes)])
    (path / 'meta.json').write_text(json.dumps(meta))
    return path


_TOP_LEVEL = ('dataset', 'arch', 'trainable', 'seed')


def tiny_spec(**overrides):
    """The RunSpec of a tiny run (ResNet-14, batch 32, the open_lth recipe). Overrides: the top-level keys
    (``trainable='bn_only'``), dotted keys (``**{'model.k': 3}``), anything else a ``train`` key."""
    from bnonly.training import RunSpec

    params = dict(dataset='fashion_mnist', arch='cifar_resnet14', trainable='all', seed=0,
                  model=dict(norm_init='uniform', weight_init='kaiming_normal', k=2),
                  train=dict(epochs=2, batch_size=32, lr=0.1, momentum=0.9, weight_decay=1e-4, milestones=[1],
                             gamma=0.1, warmup_epochs=0, eval_batch_size=64))
    for key, value in overrides.items():
        section, _, leaf = key.rpartition('.')
        if not section and key not in _TOP_LEVEL:
            section = 'train'
        (params[section] if section else params)[leaf] = value
    return RunSpec.from_params(params)


def sgd_steps(model: torch.nn.Module, params, *, input_shape: tuple[int, ...], steps: int = 3,
              batch: int = 8) -> None:
    """A few SGD steps (the paper's momentum and weight decay) on random inputs of ``input_shape``."""
    generator = torch.Generator().manual_seed(0)
    optimizer = torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=1e-4)
    model.train()
    for _ in range(steps):
        x = torch.randn(batch, *input_shape, generator=generator)
        y = torch.randint(0, 10, (batch,), generator=generator)
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
