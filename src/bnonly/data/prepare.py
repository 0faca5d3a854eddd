"""Verify a raw data set and write its prepared copy, atomically: all of it or nothing.

The copy is built in a temporary folder beside ``out`` and renamed into place; on any error the temporary
folder is removed and nothing is left at ``out`` (an older copy there is removed first, as DVC does before it
runs a stage, so a failed run never leaves a stale data set behind). Its files are written with
``bnonly.atomic``, so a full disk is one ``atomic.NoSpaceError`` line.
"""
import os
import secrets
import shutil
from pathlib import Path
from types import ModuleType

from bnonly import atomic
from bnonly.data import imagenet, prepared
from bnonly.data.datasets import default_root, module
from bnonly.data.integrity import RECORDED, Checksums, resolve


def prepare(dataset: str, root: str | Path | None, out: Path, *, checksums: Checksums = RECORDED,
            download: bool = True) -> None:
    """Verify ``dataset`` under ``root`` (None: its default) and write the prepared copy to ``out``.

    ``checksums``: RECORDED (the table in checksums.json), None (verify nothing, for generated test files) or
    {file name: digest}. ``download``: fetch through torchvision when the files are absent.
    """
    source = module(dataset)
    root = Path(root) if root is not None else default_root(dataset)
    out = Path(out)
    _remove(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # mkdir, not tempfile.mkdtemp, so the folder gets the umask's permissions rather than 0700.
    staging = out.parent / f'.{out.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}'
    staging.mkdir()
    try:
        if dataset == 'imagenet':
            _write_imagenet(root, staging)
        else:
            _write_small(dataset, source, root, staging, resolve(dataset, checksums), download)
        staging.rename(out)
        atomic.sync_folder(out.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _write_small(dataset: str, source: ModuleType, root: Path, folder: Path, checksums, download: bool) -> None:
    splits, classes = source.read(root, checksums=checksums, download=download)
    train_images = splits['train'][0]
    for split, (images, labels) in splits.items():
        prepared.write_tensors(folder, split, images, labels)
    prepared.write_meta(folder, dict(
        dataset=dataset, num_classes=len(classes), in_chans=train_images.shape[1],
        image_size=list(train_images.shape[2:]), **source.normalization(train_images),
        augmentation=source.AUGMENTATION,
        train_size=len(splits['train'][1]), test_size=len(splits['test'][1]), classes=classes,
        root=str(root.resolve()), verified=checksums is not None))


def _write_imagenet(root: Path, folder: Path) -> None:
    classes, entries = imagenet.index(root)
    for split, split_entries in entries.items():
        prepared.write_index(folder, split, split_entries)
    prepared.write_meta(folder, dict(
        dataset='imagenet', num_classes=len(classes), in_chans=3, image_size=list(imagenet.IMAGE_SIZE),
        mean=imagenet.MEAN, std=imagenet.STD, augmentation=imagenet.AUGMENTATION,
        train_size=len(entries['train']), test_size=len(entries['test']), classes=classes,
        root=str(root.resolve())))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
