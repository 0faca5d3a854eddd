"""ImageNet (ILSVRC-2012) as an ImageFolder tree, indexed rather than copied.

``root/train/<class>/*`` and ``root/val/<class>/*`` (the validation images sorted into class folders, as
the usual ``valprep.sh`` does). Classes are the sorted folder names of ``train/``, labelled 0..K-1 in that
order, and files are those with torchvision ImageFolder's extensions, in sorted order, so the labels are
``torchvision.datasets.ImageFolder``'s. Nothing of the 150 GB is duplicated.
"""
import os
from pathlib import Path

from bnonly.data.errors import DataError

DEFAULT_ROOT = Path('data/raw/imagenet')
SPLITS = {'train': 'train', 'test': 'val'}
EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp')
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
IMAGE_SIZE = (224, 224)
# The paper's recipe (open_lth's ImageNet data set): RandomResizedCrop(224, scale=(0.1, 1.0)) + flip for
# training; resize 256, centre crop 224 for testing. The aspect-ratio range is torchvision's default made
# explicit.
AUGMENTATION = dict(random_resized_crop=dict(size=224, scale=[0.1, 1.0], ratio=[0.8, 1.25]),
                    horizontal_flip=True, test_resize=256, test_crop=224)


def default_root() -> Path:
    return DEFAULT_ROOT


def index(root: Path) -> tuple[list[str], dict[str, list[tuple[str, int]]]]:
    """(class names, {'train'|'test': [(path relative to root, label), ...]})."""
    if not root.is_dir():
        raise DataError(f'{root}: ImageNet folder not found (expected {root}/train/<class>/ and {root}/val/<class>/)')
    train_classes = _classes(root / SPLITS['train'])
    entries = {}
    for split, folder in SPLITS.items():
        classes = _classes(root / folder)
        if classes != train_classes:
            missing = sorted(set(train_classes) - set(classes))
            extra = sorted(set(classes) - set(train_classes))
            raise DataError(f'{root / folder}: class folders differ from {root / SPLITS["train"]} '
                            f'(missing: {", ".join(missing[:5]) or "none"}; extra: {", ".join(extra[:5]) or "none"})')
        entries[split] = [(path, label) for label, name in enumerate(classes)
                          for path in _images(root, root / folder / name)]
    return train_classes, entries


def _classes(folder: Path) -> list[str]:
    if not folder.is_dir():
        raise DataError(f'{folder}: folder not found (ImageNet needs train/ and val/, one folder per class)')
    classes = sorted(entry.name for entry in os.scandir(folder) if entry.is_dir())
    if not classes:
        raise DataError(f'{folder}: no class folders')
    return classes


def _images(root: Path, class_folder: Path) -> list[str]:
    # os.walk with followlinks, as ImageFolder, so a tree of symlinks to the images works.
    found = sorted(os.path.relpath(os.path.join(where, name), root)
                   for where, _, names in os.walk(class_folder, followlinks=True)
                   for name in names if name.lower().endswith(EXTENSIONS))
    if not found:
        raise DataError(f'{class_folder}: class folder has no images ({", ".join(EXTENSIONS)})')
    bad = next((path for path in found if '\t' in path or '\n' in path), None)
    if bad is not None:
        raise DataError(f'{root / bad}: file names with tabs or newlines are not supported')
    return found
