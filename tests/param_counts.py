"""Building big nets only to count their parameters: the weights need not be initialised."""

import contextlib
from unittest import mock

import torch


@contextlib.contextmanager
def uninitialised():
    """torch's and numnet's weight initialisers as no-ops (the counts need only the shapes;
    ResNeXt-29 16×64d and ResNet-152 hold 60–68 M parameters)."""
    keep = lambda tensor, *args, **kwargs: tensor  # noqa: E731
    with contextlib.ExitStack() as stack:
        for name in ("kaiming_uniform_", "kaiming_normal_", "uniform_", "normal_"):
            stack.enter_context(mock.patch.object(torch.nn.init, name, keep))
        yield
