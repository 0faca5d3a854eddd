"""How the reports name what the grid measured: a data set for people, a |γ| threshold as a metric key.

The threshold key is bnonly.vocabulary's (the one spelling the analysis metrics, the training history and the
reports share): 't' + the threshold written with '%g', '.' as 'p' (0.1 -> 't0p1').
"""
from bnonly.vocabulary import key_threshold, threshold_key  # noqa: F401 (the report modules' names for them)

DATASET_LABELS = {'fashion_mnist': 'Fashion-MNIST', 'cifar10': 'CIFAR-10', 'imagenet': 'ImageNet'}


def dataset_label(dataset) -> str:
    """'Fashion-MNIST' for 'fashion_mnist'; a data set without a label as it is spelled."""
    return DATASET_LABELS.get(dataset, str(dataset))
