"""What every benchmark reports besides its timings: the machine it ran on and whether that machine was idle
(another busy process on our 2 cores slows a torch run several times over), and the report file itself.

Shared by the scripts in this folder; not a benchmark itself.
"""
import os
import platform
import re
import time
from pathlib import Path

import numpy as np
import PIL
import torch
import torchvision


def cpu_model() -> str:
    for line in Path('/proc/cpuinfo').read_text().splitlines():
        if line.startswith('model name'):
            return line.split(':', 1)[1].strip()
    return platform.processor() or 'unknown'


def cpu_flags() -> set[str]:
    for line in Path('/proc/cpuinfo').read_text().splitlines():
        if line.startswith('flags'):
            return set(line.split(':', 1)[1].split())
    return set()


def onednn_version() -> str:
    match = re.search(r'MKL-DNN v([\d.]+)', torch.__config__.show())
    return match.group(1) if match else 'unknown'


def machine(device: torch.device) -> dict[str, str]:
    flags = cpu_flags()
    info = {'CPU': cpu_model(), 'cores usable': str(len(os.sched_getaffinity(0))),
            'torch threads': str(torch.get_num_threads()),
            'CPU vector ISA (torch)': torch.backends.cpu.get_cpu_capability(),
            'AVX-512 BF16 / AMX': f"{'yes' if 'avx512_bf16' in flags else 'no'} / "
                                  f"{'yes' if 'amx_bf16' in flags else 'no'}",
            'oneDNN': onednn_version()}
    if device.type == 'cuda':
        props = torch.cuda.get_device_properties(device)
        info.update({'GPU': f'{props.name} ({props.total_memory / 2**30:.0f} GiB, {props.multi_processor_count} SMs)',
                     'CUDA': str(torch.version.cuda), 'cuDNN': str(torch.backends.cudnn.version()),
                     'TF32 (matmul / cuDNN)': f'{torch.backends.cuda.matmul.allow_tf32} / '
                                              f'{torch.backends.cudnn.allow_tf32}'})
    else:
        info['GPU'] = 'none (CPU run)'
    info.update({'torch': torch.__version__, 'torchvision': torchvision.__version__, 'numpy': np.__version__,
                 'Pillow': PIL.__version__, 'python': platform.python_version(), 'platform': platform.platform()})
    return info


def cpu_busy(seconds: float = 2.0) -> float:
    """Share of all CPU time (every core) spent busy over ``seconds`` while this process sleeps."""
    def read() -> tuple[int, int]:
        ticks = [int(value) for value in Path('/proc/stat').read_text().split('\n', 1)[0].split()[1:9]]
        return ticks[3] + ticks[4], sum(ticks)  # idle + iowait, total (user .. steal)
    idle_before, total_before = read()
    time.sleep(seconds)
    idle_after, total_after = read()
    return 1 - (idle_after - idle_before) / max(total_after - total_before, 1)


def write_report(lines: list[str], out: Path) -> None:
    """Write a benchmark's Markdown report and echo it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))
    print(f'\nwritten to {out}')
