"""RunSpec is built from the params dataclasses (bnonly.settings) and stays the same run it always was: its fields,
``as_dict`` and fingerprint are pinned to what the code before that change computed, and so is what a tiny run
trains to. ``model.norm_layer`` builds, records and rebuilds other normalisations without touching any of that."""
import dataclasses
import hashlib

import pytest
import torch

from bnonly.checkpoint import initial_model, load_model
from bnonly.config import ConfigError
from bnonly.models import create_model
from bnonly.settings import ModelSettings, RunSettings, TrainSettings
from bnonly.training import RunSpec, train_run
from bnonly.training.loop import build

from tiny_data import tiny_spec, write_prepared

pytestmark = pytest.mark.usefixtures('single_thread')

CPU = torch.device('cpu')
META = {'dataset': 'fashion_mnist', 'num_classes': 10, 'in_chans': 1, 'image_size': [12, 12], 'train_size': 256,
        'test_size': 64}

# Computed with the code before RunSpec was built from the dataclasses (its fields were written out by hand);
# the key names are part of the fingerprint, so recomputed when model.batchnorm_init and model.random_k became
# model.norm_init and model.k.
PINNED_DEFAULT = {
    'fingerprint': '09c8a000170d76b0',
    'as_dict': {
        'dataset': 'fashion_mnist',
        'arch': 'cifar_resnet14',
        'trainable': 'all',
        'seed': 0,
        'norm_init': 'uniform',
        'weight_init': 'kaiming_normal',
        'k': 2,
        'epochs': 2,
        'batch_size': 32,
        'lr': 0.1,
        'momentum': 0.9,
        'weight_decay': 0.0001,
        'milestones': [1],
        'gamma': 0.1,
        'warmup_epochs': 0,
        'eval_batch_size': 64,
        'examples': None,
        'precision': 'fp32',
        'memory_format': 'channels_last',
        'compile': False,
        'eval_every_epoch': True,
    },
}
PINNED_FINGERPRINTS = {
    'bn_only': 'bd64a76b3df529f6',
    'numerics': 'fb8e121606a57eb1',
}
# What ResNet-14 BN-only trains to in 2 epochs on the 256 images of write_prepared(train=256, test=64): sha256 of
# its saved state_dict, in name order. Float kernels may round differently on another CPU or torch version, so
# the check runs where it was recorded.
PINNED_RUN = {'sha256': '4d3ad2c66ef9431174a99920643e9335c8fb789e36b94c028fa3cbc2804b67eb',
              'torch': '2.14.1+cu130', 'cpu_capability': 'AVX512'}


def numerics_spec() -> RunSpec:
    return tiny_spec(precision='bf16', memory_format='contiguous', compile='reduce-overhead', examples=100,
                     eval_every_epoch=False, eval_batch_size=16)


def test_runspec_fields_are_the_settings_fields_in_order():
    names = [f.name for cls in (RunSettings, ModelSettings, TrainSettings) for f in dataclasses.fields(cls)]
    assert [f.name for f in dataclasses.fields(RunSpec)] == names


def test_as_dict_and_fingerprint_are_pinned():
    spec = tiny_spec()
    assert spec.as_dict() == PINNED_DEFAULT['as_dict']
    assert list(spec.as_dict()) == list(PINNED_DEFAULT['as_dict'])  # config.yaml's `run:` keeps its order
    assert spec.fingerprint(META) == PINNED_DEFAULT['fingerprint']
    assert tiny_spec(trainable='bn_only').fingerprint(META) == PINNED_FINGERPRINTS['bn_only']
    assert numerics_spec().fingerprint(META) == PINNED_FINGERPRINTS['numerics']


def test_from_params_defaults_and_requires():
    spec = tiny_spec()
    assert (spec.examples, spec.precision, spec.compile, spec.eval_every_epoch, spec.norm_layer) == \
        (None, 'fp32', False, True, 'batchnorm')
    assert spec.milestones == (1,) and hash(spec)  # lists become tuples: a spec compares and hashes
    params = dict(dataset='fashion_mnist', arch='cifar_resnet14', trainable='all', seed=0,
                  model=dict(norm_init='uniform', weight_init='kaiming_normal'), train={})
    with pytest.raises(ConfigError, match="params key 'model.k' is missing"):
        RunSpec.from_params(params)


def test_norm_layer_enters_the_spec_only_when_it_is_not_batchnorm():
    batchnorm = tiny_spec(**{'model.norm_layer': 'batchnorm'})
    assert batchnorm == tiny_spec() and 'norm_layer' not in batchnorm.as_dict()
    assert batchnorm.model_keywords() == {}
    groupnorm = tiny_spec(**{'model.norm_layer': 'groupnorm'})
    assert groupnorm.as_dict()['norm_layer'] == 'groupnorm'
    assert groupnorm.fingerprint(META) != batchnorm.fingerprint(META)
    assert groupnorm.model_keywords() == {'norm_layer': 'groupnorm'}


def state_sha256(state_dict: dict) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(state_dict.items()):
        digest.update(name.encode())
        digest.update(tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()


def test_a_tiny_run_trains_to_the_pinned_parameters(tmp_path):
    here = {'torch': torch.__version__, 'cpu_capability': torch.backends.cpu.get_cpu_capability()}
    if any(PINNED_RUN[key] != value for key, value in here.items()):
        pytest.skip(f'pinned on {PINNED_RUN}, this is {here}')
    prepared = write_prepared(tmp_path / 'data', train=256, test=64)
    train_run(tiny_spec(trainable='bn_only'), prepared, tmp_path / 'out', scratch_root=tmp_path / 'scratch',
              device=CPU, progress=False, log=lambda line: None)
    checkpoint = torch.load(tmp_path / 'out' / 'model.pt', weights_only=True)
    assert 'norm_layer' not in checkpoint  # a BatchNorm checkpoint is what it always was
    assert state_sha256(checkpoint['state_dict']) == PINNED_RUN['sha256']


def test_a_groupnorm_run_is_saved_and_rebuilt_as_groupnorm(tmp_path):
    prepared = write_prepared(tmp_path / 'data', train=64, test=32)
    spec = tiny_spec(trainable='norm_only', epochs=1, milestones=[], **{'model.norm_layer': 'groupnorm'})
    train_run(spec, prepared, tmp_path / 'out', scratch_root=tmp_path / 'scratch', device=CPU, progress=False,
              log=lambda line: None)
    saved = torch.load(tmp_path / 'out' / 'model.pt', weights_only=True)
    model, info = load_model(tmp_path / 'out' / 'model.pt')
    assert info['norm_layer'] == 'groupnorm' and isinstance(model.bn, torch.nn.GroupNorm)
    assert all(torch.equal(model.state_dict()[name], tensor) for name, tensor in saved['state_dict'].items())
    initial = initial_model(info)
    fresh = create_model('cifar_resnet14', num_classes=10, in_chans=1, seed=0, norm_layer='groupnorm')
    assert isinstance(initial.bn, torch.nn.GroupNorm)
    assert all(torch.equal(initial.state_dict()[name], tensor) for name, tensor in fresh.state_dict().items())


def test_norm_layer_is_refused_by_networks_that_do_not_take_it():
    with pytest.raises(ConfigError, match='model.norm_layer: only the CIFAR ResNets'):
        build(tiny_spec(arch='resnet18', **{'model.norm_layer': 'layernorm'}), META, CPU)
