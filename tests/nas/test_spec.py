"""YAML model specs: build, scale, write back, errors naming the entry; reference
networks (MobileNetV2 / V3-Small) built from our blocks match the published MACs."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from slimtune.nas.profile import count_params, profile_spec  # noqa: E402
from slimtune.nas.spec import ModelSpec, SpecError, build_model  # noqa: E402

pytestmark = pytest.mark.nas

ZOO = Path(__file__).resolve().parents[2] / "src" / "slimtune" / "nas" / "zoo"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

TINY = """
in_channels: 1
num_classes: 4
depth_multiple: 1.0
width_multiple: 1.0
channel_divisor: 1
input_size: [8, 8]
layers:
  - [1, Conv, {c2: 6, k: 3, s: 1}]
  - [2, ir, {c2: 12, t: 2, s: 2}]
  - [1, Classify, {}]
"""


def test_build_tiny_spec_and_forward():
    m = build_model(TINY)
    assert len(m.layers) == 4  # conv, 2 x IR, head
    assert m.layers[1].use_res is False and m.layers[2].use_res is True  # stride on first only
    assert tuple(m(torch.randn(3, 1, 8, 8)).shape) == (3, 4)
    # hand count: conv 6*9+12; IR(6->12,t2): 12*6+24, 12*9+24, 12*12+24;
    # IR(12->12,t2): 24*12+48, 24*9+48, 12*24+24; head 12*4+4
    expect = (
        (54 + 12) + (72 + 24 + 108 + 24 + 144 + 24) + (288 + 48 + 216 + 48 + 288 + 24) + (48 + 4)
    )
    assert count_params(m) == expect


def test_width_scaling_rounds_to_multiples_of_8():
    spec = ModelSpec.from_yaml(TINY)
    spec.channel_divisor = 8
    spec.width_multiple = 2.0
    res = spec.resolved()
    assert [a.get("c2") for _, _, a, _ in res] == [16, 24, 24, 4]  # classes never scaled
    spec.width_multiple = 0.5
    assert [a.get("c2") for _, _, a, _ in spec.resolved()][:3] == [8, 8, 8]


def test_depth_multiple():
    spec = ModelSpec.from_yaml(TINY)
    spec.depth_multiple = 2.0
    assert len(spec.resolved()) == 1 + 4 + 1
    spec.depth_multiple = 0.1
    assert len(spec.resolved()) == 1 + 1 + 1  # at least one


def test_yaml_round_trip():
    spec = ModelSpec.from_yaml(TINY)
    text = spec.to_yaml()
    again = ModelSpec.from_yaml(text)
    assert again.to_dict() == spec.to_dict()
    assert again.layers[1][1] == "InvertedResidual"  # alias resolved
    m1, m2 = build_model(spec), build_model(again)
    assert count_params(m1) == count_params(m2)


@pytest.mark.parametrize(
    "mutate, pattern",
    [
        (lambda d: d["layers"].insert(1, [1, "Warp", {}]), r"layers\[1\]: unknown block 'Warp'"),
        (lambda d: d["layers"][1][2].update(q=3), r"layers\[1\] \(InvertedResidual\): unknown arg"),
        (lambda d: d["layers"][0][2].update(c2=0), r"layers\[0\] \(Conv\): c2=0 channels"),
        (lambda d: d["layers"][1][2].update(s=3), r"layers\[1\] \(InvertedResidual\): .*s must"),
        (lambda d: d["layers"].insert(1, [1, "Fire", {"c2": 7}]), r"layers\[1\] \(Fire\): .*even"),
        (lambda d: d["layers"].pop(), r"last entry must be Classify"),
        (lambda d: d["layers"][0].__setitem__(0, 0), r"layers\[0\] \(Conv\): repeat"),
        (lambda d: d.update(width_multiple=-1), r"width_multiple"),
        (lambda d: d.update(colour="red"), r"unknown spec key"),
    ],
)
def test_invalid_specs_name_the_entry(mutate, pattern):
    import yaml

    d = yaml.safe_load(TINY)
    mutate(d)
    with pytest.raises(SpecError, match=pattern):
        build_model(d)


def test_shape_mismatch_names_entry():
    d = {
        "in_channels": 1,
        "num_classes": 3,
        "channel_divisor": 1,
        "input_size": [8, 8],
        # an even depthwise kernel with "same" padding grows the map: the residual add fails
        "layers": [[1, "Conv", {"c2": 4}], [1, "ir", {"c2": 4, "k": 2}], [1, "Classify", {}]],
    }
    with pytest.raises(SpecError, match=r"layers\[1\] \(InvertedResidual\): does not fit"):
        build_model(d)


def test_mobilenetv2_macs_and_params():
    p = profile_spec(ZOO / "mobilenetv2.yaml")
    assert p.params == 3_504_872  # torchvision's mobilenet_v2
    assert abs(p.macs - 300e6) / 300e6 < 0.02  # paper: 300M MAdds


def test_mobilenetv3_small_macs_and_params():
    p = profile_spec(ZOO / "mobilenetv3_small.yaml")
    assert p.params == 2_542_856  # torchvision's mobilenet_v3_small
    assert abs(p.macs - 56e6) / 56e6 < 0.03  # paper: 56M MAdds


def test_reference_example_builds():
    p = profile_spec(EXAMPLES / "mobilenetv2_ref.yaml")
    assert p.input_shape == (1, 1, 8, 8) and p.macs > 0
    m = build_model(EXAMPLES / "mobilenetv2_ref.yaml")
    assert tuple(m(torch.randn(2, 1, 8, 8)).shape) == (2, 10)
