"""Training's test evaluation and the analysis' passes count with one function (``bnonly.evaluation``): the
same numbers to the bit, and the same as a plain eval-mode loop written here."""
import pytest
import torch
import torch.nn.functional as F

from bnonly.analysis.evaluation import accuracy
from bnonly.evaluation import evaluate
from bnonly.models import CifarResNet
from bnonly.training.evaluate import evaluate as training_evaluate

pytestmark = pytest.mark.usefixtures('single_thread')  # tiny tensors: see conftest.py


@pytest.fixture(scope='module')
def model_and_batches():
    torch.manual_seed(0)
    model = CifarResNet(depth=14, num_classes=10, in_chans=1)
    model.train()
    with torch.no_grad():  # running statistics away from their init, so eval mode differs from train mode
        model(torch.randn(32, 1, 12, 12))
    generator = torch.Generator().manual_seed(1)
    batches = [(torch.randn(16, 1, 12, 12, generator=generator), torch.randint(0, 10, (16,), generator=generator))
               for _ in range(3)]
    return model, batches


def reference(model, batches) -> dict[str, float]:
    model.eval()
    with torch.no_grad():
        logits = [model(x) for x, _ in batches]
    model.train()
    labels = [y for _, y in batches]
    count = sum(len(y) for y in labels)
    loss = sum(F.cross_entropy(z, y, reduction='sum') for z, y in zip(logits, labels))
    correct = sum((z.argmax(1) == y).sum() for z, y in zip(logits, labels))
    top5 = sum((z.topk(5, dim=1).indices == y[:, None]).any(1).sum() for z, y in zip(logits, labels))
    return {'loss': float(loss) / count, 'accuracy': float(correct) / count, 'top5_accuracy': float(top5) / count}


def test_training_and_analysis_evaluate_alike_and_as_a_plain_loop(model_and_batches):
    model, batches = model_and_batches
    result = evaluate(model, batches, top5=True)
    assert result == reference(model, batches)
    assert training_evaluate(model, batches, top5=True) == result
    assert accuracy(model, batches, show_progress=False) == result['accuracy']
    assert model.training  # each restores the mode it was given


def test_shard_and_reduce_are_applied(model_and_batches):
    model, batches = model_and_batches
    first_half = evaluate(model, [(x[:8], y[:8]) for x, y in batches])
    assert evaluate(model, batches, shard=lambda t: t[:8]) == first_half
    whole = evaluate(model, batches)
    no_loss = evaluate(model, batches, reduce=lambda totals: totals * torch.tensor([0.0, 1, 1, 1], dtype=totals.dtype))
    assert no_loss == {'loss': 0.0, 'accuracy': whole['accuracy']} and whole['loss'] > 0
    with pytest.raises(ValueError, match='no batches'):
        evaluate(model, [])
