"""Net is the tutorial's network: same layers, same state-dict keys, Hub-mixin round trip."""

from __future__ import annotations

import json

import torch
from torch import nn

from interpret.core.model import CLASSES, Net


def test_architecture_matches_the_tutorial() -> None:
    net = Net()
    convs = [(m.in_channels, m.out_channels, m.kernel_size) for m in (net.conv1, net.conv2)]
    assert convs == [(3, 6, (5, 5)), (6, 16, (5, 5))]
    linears = [(m.in_features, m.out_features) for m in (net.fc1, net.fc2, net.fc3)]
    assert linears == [(400, 120), (120, 84), (84, 10)]
    relus = [m for m in net.modules() if isinstance(m, nn.ReLU)]
    assert len(relus) == 4 and len({id(m) for m in relus}) == 4  # one module per use
    assert sum(isinstance(m, nn.MaxPool2d) for m in net.modules()) == 2
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert CLASSES[0] == "airplane" and CLASSES[3] == "cat" and CLASSES[9] == "truck"


def test_after_conv1_is_the_rest_of_forward(seeded_net: Net) -> None:
    x = torch.randn(3, 3, 32, 32)
    torch.testing.assert_close(seeded_net(x), seeded_net.after_conv1(seeded_net.conv1(x)))


def test_loads_a_checkpoint_written_like_the_tutorials(tmp_path, seeded_net: Net) -> None:
    path = tmp_path / "cifar_torchvision.pt"
    torch.save(seeded_net.state_dict(), path)
    net = Net()
    net.load_state_dict(torch.load(path, weights_only=True), strict=True)
    x = torch.randn(1, 3, 32, 32)
    torch.testing.assert_close(net(x), seeded_net(x))


def test_loads_the_reference_checkpoint_strictly(reference_path) -> None:
    state = torch.load(reference_path, weights_only=True)
    assert str(Net().load_state_dict(state, strict=True)) == "<All keys matched successfully>"


def test_save_pretrained_round_trip(pretrained_dir, seeded_net: Net) -> None:
    assert {p.name for p in pretrained_dir.iterdir()} >= {"config.json", "model.safetensors"}
    config = json.loads((pretrained_dir / "config.json").read_text())
    assert config["classes"] == list(CLASSES) and config["num_classes"] == 10
    loaded = Net.from_pretrained(pretrained_dir, strict=True)
    x = torch.randn(1, 3, 32, 32)
    torch.testing.assert_close(loaded(x), seeded_net(x))
