"""What a training run leaves at fixed paths, so `dvc exp show/diff`, `metrics diff` and `plots diff` compare runs.

- ``metrics.json``: final metrics (DVC metrics)
- ``history.csv``: one row per epoch (DVC plot)
- ``config.yaml``: the resolved configuration, data description and environment
- ``model.pt``: the trained model (DVC-cached output)

Each is written atomically (``bnonly.atomic``).
"""
import csv
import io
import json
import platform
from pathlib import Path

import torch
import yaml

from bnonly import atomic
from bnonly.checkpoint import save_model


def write_results(out_dir: Path, *, model, spec, meta: dict, history: list[dict], counts: dict,
                  trainable_count: int, train_seconds: float, images: int, device: torch.device) -> dict:
    out_dir = Path(out_dir)
    final = history[-1]
    metrics = {key: value for key, value in final.items() if key.startswith('test_')}
    metrics.update(train_loss=final['train_loss'], train_accuracy=final['train_accuracy'],
                   trainable_params=trainable_count, total_params=counts['total'],
                   batchnorm_params=counts['batchnorm'], epochs=spec.epochs,
                   train_seconds=train_seconds, images_per_second=images / train_seconds)
    save_model(model, out_dir / 'model.pt', arch=spec.arch, num_classes=meta['num_classes'],
               in_chans=meta['in_chans'], trainable=spec.trainable, seed=spec.seed,
               # how the network was built and initialised, so the analysis can rebuild it (checkpoint.initial_model)
               norm_init=spec.norm_init, weight_init=spec.weight_init, **spec.model_keywords())
    atomic.write_text(out_dir / 'metrics.json', json.dumps(metrics, indent=2) + '\n')
    table = io.StringIO(newline='')
    writer = csv.DictWriter(table, fieldnames=list(history[0]))
    writer.writeheader()
    writer.writerows(history)
    atomic.write_text(out_dir / 'history.csv', table.getvalue())
    environment = dict(device=device.type, torch=str(torch.__version__), python=platform.python_version(),
                       machine=platform.machine(), threads=torch.get_num_threads())
    config = dict(run=spec.as_dict(), data={k: meta[k] for k in ('dataset', 'num_classes', 'in_chans', 'image_size',
                                                                 'train_size', 'test_size') if k in meta},
                  environment=environment)
    atomic.write_text(out_dir / 'config.yaml', yaml.safe_dump(config, sort_keys=False))
    return metrics
