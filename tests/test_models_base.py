"""One tester for every architecture (like segmentation_models.pytorch's tests/models/base.py).

Each class in test_models_archs.py subclasses ModelTester and sets `name` and `kwargs`; the checks
below then run for that model. Inputs are small and odd-sized so the suite stays fast and
exercises the pad/crop or resize paths.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from segsim.models import create_model


class ModelTester:
    name: str = ""
    kwargs: ClassVar[dict] = {}
    num_classes = 3
    odd_sizes: ClassVar[list] = [(37, 53), (64, 29)]
    train_size = (32, 32)

    def make(self, seed: int = 0):
        torch.manual_seed(seed)
        return create_model(self.name, self.num_classes, **self.kwargs)

    def test_output_has_input_size_at_odd_sizes(self):
        model = self.make()
        for h, w in self.odd_sizes:
            out = model(torch.randn(2, 3, h, w))
            assert out.shape == (2, self.num_classes, h, w)
            assert out.dtype == torch.float32 and torch.isfinite(out).all()

    def test_backward_reaches_every_parameter_and_first_layer(self):
        model = self.make()
        h, w = self.odd_sizes[0]
        model(torch.randn(2, 3, h, w)).logsumexp(1).mean().backward()
        no_grad = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
        assert not no_grad, f"parameters without gradient: {no_grad[:5]}"
        first_conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
        assert first_conv.in_channels == 3  # it really is the layer that sees the image
        assert first_conv.weight.grad.abs().sum() > 0

    def test_eval_is_deterministic_and_batch_independent(self):
        model = self.make().eval()
        x = torch.randn(2, 3, *self.odd_sizes[-1])
        with torch.no_grad():
            a, b = model(x), model(x)
            single = model(x[1:2])
        torch.testing.assert_close(a, b, rtol=0, atol=0)
        # In eval mode BatchNorm uses running stats, so a sample's logits ignore its batch mates.
        torch.testing.assert_close(a[1:2], single, rtol=1e-4, atol=1e-4)

    def test_same_seed_builds_same_weights(self):
        a, b = self.make(seed=3).state_dict(), self.make(seed=3).state_dict()
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a)

    def test_a_few_steps_fit_a_fixed_batch(self):
        model = self.make().train()
        h, w = self.train_size
        x = torch.randn(2, 3, h, w)
        # An easy target: one class per image region (left half, right half, top strip).
        y = torch.ones(2, h, w, dtype=torch.long)
        y[:, :, w // 2 :] = 2
        y[:, : h // 4] = 0
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
        losses = []
        for _ in range(6):
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert losses[-1] < losses[0] * 0.9, losses
