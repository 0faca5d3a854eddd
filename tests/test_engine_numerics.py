"""The engine's speed options: bf16 autocast, torch.compile wiring, frozen weights skipping their gradient
work, params keys and the saved model's layout."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from bnonly.config import ConfigError, validate
from bnonly.data import build_loaders, load_meta
from bnonly.training import RunSpec, train_run
from bnonly.training import compiling
from bnonly.training.loop import build

from tiny_data import tiny_spec, write_prepared

CPU = torch.device('cpu')


# The same thread count for every loop compared (oneDNN's reductions may split work by thread).
pytestmark = pytest.mark.usefixtures('single_thread')


def make_spec(trainable='all', **train) -> RunSpec:
    return tiny_spec(**{'trainable': trainable, 'epochs': 1, 'milestones': [], **train})


@pytest.fixture(scope='module')
def prepared(tmp_path_factory):
    return write_prepared(tmp_path_factory.mktemp('prepared') / 'data', train=64, test=32)


def first_batch(prepared, seed=0):
    train, _ = build_loaders(prepared, batch_size=32, eval_batch_size=64, seed=seed, device='cpu')
    return next(iter(train.epoch(0)))


def test_defaults_are_fp32_eager_channels_last_and_old_params_files_still_load():
    spec = make_spec()
    assert (spec.precision, spec.memory_format, spec.compile) == ('fp32', 'channels_last', False)
    for key, good, bad in (('precision', 'bf16', 'fp16'), ('memory_format', 'contiguous', 'nhwc'),
                           ('compile', 'reduce-overhead', 'fast')):
        validate({'train': {key: good}})
        with pytest.raises(ConfigError, match=f'train.{key}'):
            validate({'train': {key: bad}})
    assert set(compiling.COMPILE_MODES) >= {'default', 'reduce-overhead'}


def test_bf16_keeps_fp32_master_weights_and_batchnorm_statistics(prepared):
    x, y = first_batch(prepared)
    losses = {}
    for precision in ('fp32', 'bf16'):
        built = build(make_spec(precision=precision), load_meta(prepared), CPU)
        loss, logits = built.step(x, y, 0.1)
        losses[precision] = loss.item()
        assert loss.dtype == torch.float32
        for name, tensor in built.model.state_dict().items():
            if tensor.is_floating_point():
                assert tensor.dtype == torch.float32, name  # weights, γ, β, running mean and variance
        for state in built.optimizer.state.values():
            assert state['momentum_buffer'].dtype == torch.float32
    # The same loss to bf16's precision (8 bits of mantissa: ~0.4% per rounding).
    assert losses['bf16'] == pytest.approx(losses['fp32'], rel=0.02)


def test_bf16_run_trains_and_evaluates(prepared, tmp_path):
    metrics = train_run(make_spec(precision='bf16'), prepared, tmp_path / 'out', scratch_root=tmp_path / 's',
                        device=CPU, progress=False, log=lambda line: None)
    assert 0 <= metrics['test_accuracy'] <= 1 and metrics['train_loss'] == metrics['train_loss']


def test_compile_wiring_keeps_results(prepared, tmp_path, monkeypatch):
    """The compiled path (model wrapped, state saved from the original module, eval through the wrapper),
    with dynamo's ``eager`` backend so the test takes seconds; Inductor's own numerics are the benchmarks'."""
    compiled_calls = []
    real_compile = torch.compile

    def eager_compile(model, *, mode, dynamic):
        compiled_calls.append((mode, dynamic))
        return real_compile(model, backend='eager', dynamic=dynamic)

    def run(name, option):
        return train_run(make_spec(compile=option, memory_format='contiguous'), prepared, tmp_path / name,
                         scratch_root=tmp_path / 'scratch', device=CPU, progress=False, log=lambda line: None)

    eager = run('eager', False)
    monkeypatch.setattr(compiling.torch, 'compile', eager_compile)
    compiled = run('compiled', True)
    assert compiled_calls == [('default', False)]
    timing = ('train_seconds', 'images_per_second')
    assert {k: v for k, v in compiled.items() if k not in timing} == {k: v for k, v in eager.items()
                                                                       if k not in timing}
    state = torch.load(tmp_path / 'compiled' / 'model.pt', weights_only=True)['state_dict']
    assert not any(name.startswith('_orig_mod') for name in state)


@pytest.mark.parametrize('trainable, ratio', [('all', 3.0), ('bn_only', 2.0), ('output_only', 1.0),
                                              ('random_k', 3.0)])
def test_frozen_weights_skip_their_gradient_work(prepared, trainable, ratio):
    """FLOPs of a whole training step over those of a forward pass: frozen convs get no weight gradient
    (bn_only ~2x), output_only runs no backward through the trunk (~1x). random_k's parametrization asks for
    the full weight gradient and then keeps k entries per channel, so it costs what ``all`` costs."""
    x, y = first_batch(prepared)
    built = build(make_spec(trainable), load_meta(prepared), CPU)
    with FlopCounterMode(display=False) as forward:
        built.model(x)
    with FlopCounterMode(display=False) as step:
        built.step(x, y, 0.1)
    assert step.get_total_flops() / forward.get_total_flops() == pytest.approx(ratio, abs=0.02)


def test_saved_model_is_contiguous_whatever_the_layout(prepared, tmp_path):
    train_run(make_spec(), prepared, tmp_path / 'out', scratch_root=tmp_path / 's', device=CPU, progress=False,
              log=lambda line: None)
    state = torch.load(tmp_path / 'out' / 'model.pt', weights_only=True)['state_dict']
    assert all(tensor.is_contiguous() for tensor in state.values())
