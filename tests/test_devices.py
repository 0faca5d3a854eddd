"""GPU claiming by lock files, exercised with stand-in names (no GPU needed)."""
import subprocess
import sys
import textwrap

import pytest
import torch

from bnonly.devices import claim_free, pick_device


def test_cpu_when_no_cuda():
    if torch.cuda.is_available():
        pytest.skip('a GPU is present')
    assert pick_device() == torch.device('cpu')


def test_processes_claim_different_gpus_and_release_on_exit(tmp_path):
    holder = subprocess.Popen([sys.executable, '-c', textwrap.dedent(f'''
        import sys, time
        from pathlib import Path
        from bnonly.devices import claim_free
        print(claim_free(['gpu-a', 'gpu-b'], Path({str(tmp_path)!r})), flush=True)
        time.sleep(60)
    ''')], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == '0'
        assert claim_free(['gpu-a', 'gpu-b'], tmp_path) == 1   # gpu-a is held by the other process
        with pytest.raises(RuntimeError, match='all 2 GPUs are held'):
            # A second claim from this process: gpu-b is ours now, gpu-a the other process's.
            claim_free(['gpu-a', 'gpu-b'], tmp_path, wait_seconds=0)
    finally:
        holder.kill()
        holder.wait()
    assert claim_free(['gpu-a'], tmp_path) == 0   # the killed process's lock went with it
