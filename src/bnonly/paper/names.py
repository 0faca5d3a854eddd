"""How the reports name what the grid measured: a data set for people, a |γ| threshold as a metric key.

The key scheme is the analysis metrics file's (bnonly.analysis.metrics, which writes it and imports torch, so
the report modules read it from here): 't' + the threshold written with '%g', '.' as 'p' (0.1 -> 't0p1').
"""
DATASET_LABELS = {'fashion_mnist': 'Fashion-MNIST', 'cifar10': 'CIFAR-10', 'imagenet': 'ImageNet'}


def dataset_label(dataset) -> str:
    """'Fashion-MNIST' for 'fashion_mnist'; a data set without a label as it is spelled."""
    return DATASET_LABELS.get(dataset, str(dataset))


def threshold_key(threshold: float) -> str:
    """The metrics key of a threshold: 0.01 -> 't0p01', 1e-05 -> 't1e-05'."""
    return 't' + format(threshold, 'g').replace('.', 'p')


def key_threshold(key: str) -> float:
    """The inverse of ``threshold_key``: 't0p01' -> 0.01, 't1e-05' -> 1e-05."""
    return float(key[1:].replace('p', '.'))
