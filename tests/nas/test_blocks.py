"""NAS blocks: output shapes, strides, channel arithmetic and parameter counts checked
against hand calculation."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from slimtune.nas import blocks as B  # noqa: E402
from slimtune.nas.profile import count_macs, count_params  # noqa: E402

pytestmark = pytest.mark.nas


def _out(m, c, h, w=None):
    m.eval()
    with torch.no_grad():
        return tuple(m(torch.randn(2, c, h, w or h)).shape)


def test_conv_params_shape_and_stride():
    m = B.Conv(4, 8, k=3, s=1)
    # weights 8*4*3*3 + BN (gamma, beta) 2*8
    assert count_params(m) == 8 * 4 * 9 + 16
    assert _out(m, 4, 8) == (2, 8, 8, 8)
    m2 = B.Conv(4, 8, k=3, s=2, bn=False, act=None)
    assert count_params(m2) == 8 * 4 * 9 + 8  # bias instead of BN
    assert _out(m2, 4, 7) == (2, 8, 4, 4)  # ceil(7 / 2)
    g = B.Conv(8, 16, k=1, g=4)
    assert count_params(g) == 16 * 2 + 32


def test_conv_macs_hand_count():
    # 8 outputs * 4 inputs * 9 taps * 64 positions; BN and ReLU are not counted
    assert count_macs(B.Conv(4, 8, k=3), (1, 4, 8, 8)) == 8 * 4 * 9 * 64
    # depthwise: 8 channels * 9 taps * 16 positions (stride 2 on 8x8)
    assert count_macs(B.DWConv(8, k=3, s=2), (1, 8, 8, 8)) == 8 * 9 * 16
    # meta-device and real counts agree
    m = B.InvertedResidual(8, 16, s=2, t=4)
    assert count_macs(m, (1, 8, 8, 8)) == count_macs(m, (1, 8, 8, 8), meta=False)


def test_dwconv_and_separable():
    dw = B.DWConv(8, k=3)
    assert count_params(dw) == 8 * 9 + 16 and dw.c2 == 8
    assert count_params(B.DWConv(8, 16, k=3)) == 16 * 9 + 32  # depth multiplier 2
    with pytest.raises(ValueError, match="multiple of input channels"):
        B.DWConv(8, 12)
    ds = B.DWSConv(8, 16, k=3, s=2)
    assert count_params(ds) == (8 * 9 + 16) + (16 * 8 + 32)
    assert _out(ds, 8, 8) == (2, 16, 4, 4)


def test_bottleneck():
    m = B.Bottleneck(8, 16, k=3, s=2, e=0.25)  # c_ = 4
    expect = (4 * 8 + 8) + (4 * 4 * 9 + 8) + (16 * 4 + 32) + (16 * 8 + 32)
    assert count_params(m) == expect
    assert _out(m, 8, 8) == (2, 16, 4, 4)
    ident = B.Bottleneck(16, 16, s=1)
    assert isinstance(ident.short, torch.nn.Identity)


def test_inverted_residual_v2():
    m = B.InvertedResidual(8, 8, s=1, t=2)  # hid 16
    assert count_params(m) == (16 * 8 + 32) + (16 * 9 + 32) + (8 * 16 + 16)
    assert m.use_res and _out(m, 8, 6) == (2, 8, 6, 6)
    m1 = B.InvertedResidual(8, 16, s=2, t=1)  # no expansion conv
    assert count_params(m1) == (8 * 9 + 16) + (16 * 8 + 32)
    assert not m1.use_res and _out(m1, 8, 8) == (2, 16, 4, 4)
    with pytest.raises(ValueError, match="s must be 1 or 2"):
        B.InvertedResidual(8, 8, s=3)


def test_inverted_residual_v3_se_hardswish():
    m = B.InvertedResidualV3(16, 16, k=5, s=1, exp=32, se=True, act="hardswish")
    se = (32 * 8 + 8) + (8 * 32 + 32)  # squeeze to make_divisible(32 // 4) = 8
    expect = (32 * 16 + 64) + (32 * 25 + 64) + se + (16 * 32 + 32)
    assert count_params(m) == expect
    assert m.use_res and _out(m, 16, 7) == (2, 16, 7, 7)
    assert any(isinstance(x, torch.nn.Hardswish) for x in m.modules())
    assert any(isinstance(x, B.SqueezeExcite) for x in m.modules())
    no_exp = B.InvertedResidualV3(16, 24, k=3, s=2, exp=16)
    assert count_params(no_exp) == (16 * 9 + 32) + (24 * 16 + 48)
    assert _out(no_exp, 16, 8) == (2, 24, 4, 4)


def test_mbconv():
    m = B.MBConv(8, 16, k=3, s=2, t=4, se=0.25)  # hid 32, squeeze int(8 * 0.25) = 2
    expect = (32 * 8 + 64) + (32 * 9 + 64) + (32 * 2 + 2 + 2 * 32 + 32) + (16 * 32 + 32)
    assert count_params(m) == expect
    assert _out(m, 8, 8) == (2, 16, 4, 4)
    assert any(isinstance(x, torch.nn.SiLU) for x in m.modules())
    assert not any(isinstance(x, B.SqueezeExcite) for x in B.MBConv(8, 8, se=0).modules())


def test_fire_and_ghost():
    f = B.Fire(8, 16, sq=4)
    assert count_params(f) == (4 * 8 + 8) + (8 * 4 + 16) + (8 * 4 * 9 + 16)
    assert _out(f, 8, 6) == (2, 16, 6, 6)
    with pytest.raises(ValueError, match="even"):
        B.Fire(8, 15)
    g = B.Ghost(8, 16, k=1, ratio=2, dk=3)  # 8 primary + 8 cheap
    assert count_params(g) == (8 * 8 + 16) + (8 * 9 + 16)
    assert _out(g, 8, 5) == (2, 16, 5, 5)
    g3 = B.Ghost(8, 10, ratio=3)  # m = ceil(10 / 3) = 4, cheap 8, cut 12 -> 10
    assert count_params(g3) == (4 * 8 + 8) + (8 * 9 + 16)
    assert _out(g3, 8, 4) == (2, 10, 4, 4)
    assert B.Ghost(8, 8, res=True).use_res


def test_pooling_and_head():
    assert _out(B.MaxPool(8, 2), 8, 7) == (2, 8, 4, 4)
    assert _out(B.AvgPool(8, 2), 8, 8) == (2, 8, 4, 4)
    h = B.Classify(16, 10, hidden=32, act="gelu", dropout=0.1)
    assert count_params(h) == (16 * 32 + 32) + (32 * 10 + 10)
    assert _out(h, 16, 3) == (2, 10)
    assert count_params(B.Classify(16, 10)) == 16 * 10 + 10


@pytest.mark.parametrize("name", ["relu", "relu6", "hardswish", "silu", "gelu"])
def test_activations(name):
    act = B.make_activation(name)
    x = torch.linspace(-8, 8, 33)
    ref = {
        "relu": torch.relu,
        "relu6": lambda t: t.clamp(0, 6),
        "hardswish": lambda t: t * (t + 3).clamp(0, 6) / 6,
        "silu": lambda t: t * torch.sigmoid(t),
        "gelu": torch.nn.functional.gelu,
    }[name]
    assert torch.allclose(act(x.clone()), ref(x), atol=1e-6)


def test_activation_error_names_choices():
    with pytest.raises(ValueError, match="act='swish'.*relu6"):
        B.make_activation("swish")


def test_make_divisible():
    assert B.make_divisible(32 * 0.75, 8) == 24
    assert B.make_divisible(20, 8) == 24  # 16 would be > 10% below 20
    assert B.make_divisible(3, 8) == 8  # at least the divisor
    assert B.make_divisible(13, 1) == 13
