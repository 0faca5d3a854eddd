"""Keeping freed host memory (training/host_memory.py): it removes the page faults and changes no number.

Each case runs in a fresh interpreter, because malloc's thresholds, once set, stay set for the process.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc malloc only')

# Tensors sized like a small net's activations plus three of 40 MiB (a wide net's), allocated together and freed
# together, as a training step does; prints the minor page faults of each round.
SIZES = [1 << 20, 3 << 19, 1 << 21, 1 << 18, 5 << 19] * 4 + [10 << 20] * 3
FAULTS_PER_ROUND = f'''
import json, resource, sys, torch
from bnonly.training.host_memory import keep_freed_memory
from bnonly.training.numerics import configure_backends
if sys.argv[1] == 'keep':
    configure_backends(torch.device('cpu'))  # as every CPU training run does
applied = keep_freed_memory.cache_info().currsize == 1 and keep_freed_memory()
faults = []
for _ in range(6):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    tensors = [torch.ones(n) for n in {SIZES}]
    del tensors
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(json.dumps(dict(applied=applied, faults=faults)))
'''

# A few SGD steps of a small ResNet in the engine's layout; prints every parameter and buffer.
TRAINED_STATE = '''
import json, sys, torch, torch.nn.functional as F
from bnonly.models import create_model
from bnonly.trainable import set_trainable
from bnonly.training.host_memory import keep_freed_memory
if sys.argv[1] == 'keep':
    assert keep_freed_memory()
torch.set_num_threads(1)
model = create_model('cifar_resnet14', num_classes=10, in_chans=1, seed=0).to(memory_format=torch.channels_last)
optimizer = torch.optim.SGD(set_trainable(model, 'bn_only'), lr=0.1, momentum=0.9, weight_decay=1e-4)
generator = torch.Generator().manual_seed(0)
for _ in range(3):
    x, y = torch.randn(32, 1, 28, 28, generator=generator), torch.randint(0, 10, (32,), generator=generator)
    optimizer.zero_grad()
    F.cross_entropy(model(x), y).backward()
    optimizer.step()
print(json.dumps({name: t.flatten().tolist() for name, t in model.state_dict().items()}))
'''


def run(script: str, mode: str):
    result = subprocess.run([sys.executable, '-c', script, mode], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.splitlines()[-1])


def test_cpu_runs_reuse_freed_memory_without_faulting_it_in_again():
    default, kept = run(FAULTS_PER_ROUND, 'default'), run(FAULTS_PER_ROUND, 'keep')
    assert kept['applied'] is True
    # The heap reaches its working size within three rounds (measured: the last fault in round 2 or 3).
    assert max(kept['faults'][3:]) < 100
    # The premise: by default glibc maps every block over 32 MiB afresh, so each round faults the 40 MiB tensors
    # in page by page (the smaller ones fault too, most rounds: glibc's adaptive thresholds vary with history).
    # Transparent huge pages set to 'always' would fault those in by 2 MiB instead.
    if '[always]' not in Path('/sys/kernel/mm/transparent_hugepage/enabled').read_text():
        assert min(default['faults'][3:]) >= 3 * (10 << 20) * 4 // 4096


def test_training_is_bit_identical_with_memory_kept():
    assert run(TRAINED_STATE, 'keep') == run(TRAINED_STATE, 'default')
