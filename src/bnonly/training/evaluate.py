"""Test-set evaluation in eval mode (BatchNorm uses its running statistics, as in the paper)."""
import torch
import torch.nn.functional as F
from torch import nn


@torch.inference_mode()
def evaluate(model: nn.Module, batches, *, top5: bool = False) -> dict[str, float]:
    """Mean loss and top-1 (and top-5) accuracy over ``batches``; restores the model's train/eval mode."""
    was_training = model.training
    model.eval()
    loss_sum = correct1 = correct5 = 0.0
    count = 0
    for x, y in batches:
        logits = model(x).float()
        loss_sum += F.cross_entropy(logits, y, reduction='sum')
        correct1 += (logits.argmax(1) == y).sum()
        if top5:
            correct5 += (logits.topk(5, dim=1).indices == y[:, None]).any(1).sum()
        count += len(y)
    model.train(was_training)
    if count == 0:
        raise ValueError('evaluation got no batches')
    result = {'loss': float(loss_sum) / count, 'accuracy': float(correct1) / count}
    if top5:
        result['top5_accuracy'] = float(correct5) / count
    return result
