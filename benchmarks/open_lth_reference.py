"""open_lth's default training loop, re-implemented for side-by-side benchmarks.

Written from a reading of facebookresearch/open_lth (``datasets/base.py``, ``datasets/cifar10.py``,
``training/train.py``, ``training/optimizers.py``, ``training/standard_callbacks.py``,
``training/checkpointing.py``); no code is copied. What it reproduces, because it is what costs time:

- data: a ``torch.utils.data.Dataset`` that turns each stored uint8 image into a PIL image and runs
  ``RandomHorizontalFlip`` + ``RandomCrop(size, padding=4)`` + ``ToTensor`` + ``Normalize`` on it, one image at
  a time; a ``DataLoader`` with ``num_workers=0`` (open_lth's default: the transforms run in the training
  thread), batch 128, ``pin_memory`` on CUDA, and a sampler that shuffles with ``randperm`` seeded by
  (data-order seed + epoch). The test set goes through the same per-image path without augmentation;
- the loop: for every batch, move it to the device, ``zero_grad()``, ``model.train()``, forward,
  cross-entropy, backward, ``optimizer.step()``, then ``LambdaLR.step()``: a per-iteration factor that is the
  product of gamma ** (milestones passed, by ``bisect``) and a linear warm-up;
- callbacks at the first iteration of every epoch and at the end: a test-set evaluation at the training
  batch size (sums kept as device tensors, read back with ``.item()`` at the end), and ``checkpoint.pth``
  (model and optimizer state) written with ``torch.save``; the model is also saved at the start and the end;
- fp32 (apex fp16 is off by default), NCHW, ``torch.optim.SGD(model.parameters(), ...)`` with momentum and
  coupled weight decay (frozen tensors have no gradient, so SGD skips them).

One difference, in open_lth's favour: open_lth also evaluates at step 0, before any training (E + 1
evaluations for E epochs); ``evaluate_at_start=False`` (the default here) skips it, so both loops evaluate
once per epoch, as our engine does.

Grey images (Fashion-MNIST) become mode-"L" PIL images, as ``Image.fromarray`` makes them from 2-D arrays.
"""
import bisect
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision.transforms as T
from PIL import Image
from torch.utils.data import DataLoader, Dataset, Sampler


class PerImageDataset(Dataset):
    """Stored uint8 images, transformed one PIL image at a time on every access."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, *, mean: list[float], std: list[float],
                 augment: bool):
        array = images.permute(0, 2, 3, 1).numpy()            # N, H, W, C as open_lth keeps CIFAR-10
        self.examples = array[..., 0] if array.shape[-1] == 1 else array
        self.labels = labels.numpy()
        augmentation = [T.RandomHorizontalFlip(), T.RandomCrop(images.shape[-1], padding=4)] if augment else []
        self.transform = T.Compose(augmentation + [T.ToTensor(), T.Normalize(mean, std)])

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        return self.transform(Image.fromarray(self.examples[index])), self.labels[index]


class SeededShuffle(Sampler):
    """A new permutation per epoch from ``randperm`` with a generator seeded by the given seed."""

    def __init__(self, count: int):
        self.count, self.seed = count, None

    def set_seed(self, seed: int) -> None:
        self.seed = seed

    def __iter__(self):
        generator = torch.Generator()
        generator.manual_seed(self.seed)
        return iter(torch.randperm(self.count, generator=generator).tolist())

    def __len__(self) -> int:
        return self.count


def make_loader(dataset: Dataset, batch_size: int, device: torch.device, *, shuffle: bool):
    sampler = SeededShuffle(len(dataset)) if shuffle else None
    loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=0,
                        pin_memory=device.type == 'cuda')
    return loader, sampler


def lr_lambda(*, iterations_per_epoch: int, milestones: list[int], gamma: float, warmup_epochs: int):
    milestone_iterations = [m * iterations_per_epoch for m in milestones]
    warmup_iterations = warmup_epochs * iterations_per_epoch

    def factor(iteration: int) -> float:
        parts = [1.0, gamma ** bisect.bisect(milestone_iterations, iteration)]
        if warmup_iterations:
            parts.append(min(1.0, iteration / warmup_iterations))
        return math.prod(parts)
    return factor


def evaluate(model: torch.nn.Module, loader, device: torch.device) -> dict[str, float]:
    """open_lth's eval callback: device-side sums, three read-backs at the end."""
    count = torch.tensor(0.0, device=device)
    total_loss = torch.tensor(0.0, device=device)
    total_correct = torch.tensor(0.0, device=device)
    model.eval()
    with torch.no_grad():
        for examples, labels in loader:
            examples = examples.to(device)
            labels = labels.squeeze().to(device).long()
            output = model(examples)
            size = torch.tensor(len(labels), device=device)
            count += size
            total_loss += F.cross_entropy(output, labels) * size
            total_correct += torch.sum(torch.eq(labels, output.argmax(dim=1)))
    count, total_loss, total_correct = count.item(), total_loss.item(), total_correct.item()
    return {'loss': total_loss / count, 'accuracy': total_correct / count}


def train(model: torch.nn.Module, train_set: Dataset, test_set: Dataset, *, epochs: int, batch_size: int,
          lr: float, momentum: float, weight_decay: float, milestones: list[int], gamma: float,
          warmup_epochs: int, data_order_seed: int, device: torch.device, output: Path,
          evaluate_at_start: bool = False) -> list[dict]:
    """Train ``model`` for ``epochs``; returns one row per evaluation with the phases' timings."""
    output.mkdir(parents=True, exist_ok=True)
    model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    train_loader, sampler = make_loader(train_set, batch_size, device, shuffle=True)
    test_loader, _ = make_loader(test_set, batch_size, device, shuffle=False)
    iterations = len(train_loader)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(
        iterations_per_epoch=iterations, milestones=milestones, gamma=gamma, warmup_epochs=warmup_epochs))
    rows = []

    def epoch_boundary(epoch: int, train_seconds: float) -> None:
        start = time.perf_counter()
        test = evaluate(model, test_loader, device) if (epoch > 0 or evaluate_at_start) else None
        evaluated = time.perf_counter()
        torch.save({'ep': epoch, 'it': 0, 'model_state_dict': model.state_dict(),
                    'optimizer_state_dict': optimizer.state_dict()}, output / 'checkpoint.pth')
        if epoch in (0, epochs):
            torch.save(model.state_dict(), output / f'model_ep{epoch}_it0.pth')
        if epoch > 0:
            rows.append(dict(epoch=epoch, train_seconds=train_seconds, eval_seconds=evaluated - start,
                             checkpoint_seconds=time.perf_counter() - evaluated, test_accuracy=test['accuracy']))

    epoch_boundary(0, 0.0)
    for epoch in range(epochs):
        sampler.set_seed(data_order_seed + epoch)
        start = time.perf_counter()
        for examples, labels in train_loader:
            examples = examples.to(device)
            labels = labels.to(device).long()
            optimizer.zero_grad()
            model.train()
            loss = F.cross_entropy(model(examples), labels)
            loss.backward()
            optimizer.step()
            schedule.step()
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        epoch_boundary(epoch + 1, time.perf_counter() - start)
    return rows
