"""Channel-wise k (the LM-ResNet authors' MResNetC): one k per channel of each LM step."""

import warnings

import pytest
import torch

from numnet import nets
from numnet._combine import combine
from numnet.study.table import block_values, learned_properties

TINY = dict(widths=(4, 8, 8))


def build(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # the official init is outside zero stability: the build warns
        return nets.build("lm_resnet", 14, **TINY, **kw)


def test_official_init_and_shape():
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match="not zero-stable"):
        net = nets.build("lm_resnet", 14, channelwise=True, **TINY)
    ks = [s.coef["k"] for s in net.stages]
    assert [tuple(k.shape) for k in ks] == [(1, 4, 1, 1), (1, 8, 1, 1), (1, 8, 1, 1)]
    assert all(((k > 1.0) & (k <= 1.1)).all() for k in ks)     # s = 1 - k ~ U(-0.1, 0)
    plain = sum(p.numel() for p in build().parameters()) - 3     # the scalar net's 3 k's
    assert sum(p.numel() for p in net.parameters()) == plain + 4 + 8 + 8
    with pytest.raises(ValueError, match="one k per channel; a fixed k=0.5"):
        nets.build("lm_resnet", 14, channelwise=True, k=0.5)


def _pair(k0=-0.05):
    """A scalar and a channel-wise net with the same weights and every k equal to k0."""
    torch.manual_seed(0)
    scalar, chan = build(), build(channelwise=True)
    state = {n: v for n, v in scalar.state_dict().items() if not n.endswith("coef.k")}
    chan.load_state_dict(state, strict=False)
    with torch.no_grad():
        for s, c in zip(scalar.stages, chan.stages):
            s.coef["k"].fill_(k0)
            c.coef["k"].fill_(k0)
    return scalar, chan


def test_equal_channels_are_the_scalar_net_and_gradients_sum_to_its_gradient():
    scalar, chan = _pair()
    x = torch.randn(2, 3, 8, 8)
    out_s, out_c = scalar(x), chan(x)
    torch.testing.assert_close(out_c, out_s)
    out_s.square().sum().backward()
    out_c.square().sum().backward()
    for s, c in zip(scalar.stages, chan.stages):
        g = c.coef["k"].grad
        assert g.shape == c.coef["k"].shape
        torch.testing.assert_close(g.sum(dim=(1, 2, 3)), s.coef["k"].grad, rtol=1e-5, atol=1e-6)


def test_the_step_acts_channel_by_channel():
    """Stage 0 of depth 14 is u_1 = entry(u_0), u_2 = (1 - k) u_1 + k u_0 + F(u_1): changing
    k of channel 2 changes only channel 2 of the stage's output."""
    _, chan = _pair()
    chan.eval()
    u = chan.stem(torch.randn(2, 3, 8, 8))
    before = chan.stages[0](u)
    with torch.no_grad():
        chan.stages[0].coef["k"][0, 2] = 0.3
    after = chan.stages[0](u)
    changed = (after - before).abs().amax(dim=(0, 2, 3))
    assert changed[2] > 0 and torch.count_nonzero(changed) == 1


def test_one_scheme_per_step_and_channel():
    torch.manual_seed(0)
    net = build(channelwise=True)
    with torch.no_grad():
        net.stages[1].coef["k"][0, :3] = -0.5            # three zero-stable channels
    steps = [s for s in net.step_schemes() if s.kind == "scheme"]
    assert len(steps) == 4 + 8 + 8 and [s.channel for s in steps if s.stage == 0] == [0, 1, 2, 3]
    stable = [(s.stage, s.channel) for s in steps if s.scheme.is_zero_stable]
    assert stable == [(1, 0), (1, 1), (1, 2)]             # rho = (xi - 1)(xi + k): zero-stable iff -1 < k <= 1
    rows = net.learned_coefficients()
    assert len(rows) == 20 and rows[0].keys() == {"stage", "block", "channel", "symbol", "value"}
    assert len(block_values(rows)) == 20
    assert learned_properties("lm_resnet", [rows])["zero_stable"] == "3/20 blocks"
    assert len(net.residual_branches()) == len(net.step_schemes())


def test_the_kernel_reduces_a_per_channel_gradient_to_its_shape():
    torch.manual_seed(0)
    x, y = torch.randn(2, 3, 4, 4, requires_grad=True), torch.randn(2, 3, 4, 4, requires_grad=True)
    k = torch.randn(3, 1, 1, requires_grad=True)
    combine([(1 - k, x), (k, y), (1.0, x)], lerp=(0, 1)).square().sum().backward()
    grads = [t.grad.clone() for t in (x, y, k)]
    for t in (x, y, k):
        t.grad = None
    ((1 - k) * x + k * y + x).square().sum().backward()
    for got, t in zip(grads, (x, y, k)):
        torch.testing.assert_close(got, t.grad)
