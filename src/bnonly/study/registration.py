"""study/registration.yaml as the study's code reads it: its seeds, α, networks, budgets and tests, and the
commit that last changed it.

The file is the study's pre-registration, committed before any of its cells was trained: the claims table
(bnonly.study.claims) takes its test ids, families, seeds and α from here rather than restating them, and
tests/test_study.py checks that each declared contrast spells the registered one. Its budgets are SGD steps;
a run trains ``steps / steps_per_epoch`` epochs of the study grid's recipe, the recipe's own epochs without a
token and any other number with the budget token e<N> (bnonly.vocabulary).
"""
import functools
from pathlib import Path

import yaml

from bnonly import registration as registered
from bnonly.registration import PROJECT
from bnonly.vocabulary import BUDGET_KEY, variant_token

PATH = 'study/registration.yaml'    # relative to the project root, as git names it
GRID = 'study/grid.yaml'


def registration() -> dict:
    return registered.load(PATH)


@functools.cache
def recipe() -> dict:
    """The study grid's training recipe (study/grid.yaml's grid.train)."""
    return yaml.safe_load((PROJECT / GRID).read_text())['grid']['train']


def steps_per_epoch(train: dict | None = None) -> int:
    """SGD steps per epoch of the recipe: its fixed subset over the batch size (32,000 / 128 = 250)."""
    train = recipe() if train is None else train
    if train['examples'] % train['batch_size']:
        raise ValueError(f'{GRID}: {train["examples"]} examples are not whole batches of {train["batch_size"]}')
    return train['examples'] // train['batch_size']


def epochs(steps: int, train: dict | None = None) -> int:
    """The epochs of a budget of ``steps`` SGD steps."""
    per_epoch = steps_per_epoch(train)
    if steps % per_epoch:
        raise ValueError(f'{PATH}: a budget of {steps} steps is not whole epochs of {per_epoch} steps')
    return steps // per_epoch


def run(network: str, steps: int, train: dict | None = None) -> str:
    """The grid run of ``network`` (a registered run name) at a budget of ``steps``: the network itself at the
    recipe's epochs, else with its budget token (``cifar_resnet32-bn_only-e12``)."""
    train = recipe() if train is None else train
    n = epochs(steps, train)
    return network if n == train['epochs'] else f'{network}-{variant_token(BUDGET_KEY, n)}'


def fixing_commit(root: Path = PROJECT) -> str:
    """The commit that last changed the study's registration (bnonly.registration.fixing_commit)."""
    return registered.fixing_commit(PATH, root)
