"""The Captum CIFAR-10 tutorial's `Net`, unchanged in structure, with Hub save/load.

The layer names and shapes match Captum's ``cifar_torchvision.pt`` exactly so that
checkpoint loads with ``strict=True``. Each ReLU is its own module because DeepLift
attaches its rule per module: a shared ReLU would be visited twice.
"""

from __future__ import annotations

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

CLASSES: tuple[str, ...] = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
INPUT_SIZE = 32
# The tutorial's transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)).
MEAN: tuple[float, float, float] = (0.5, 0.5, 0.5)
STD: tuple[float, float, float] = (0.5, 0.5, 0.5)


class Net(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="interpret",
    license="mit",
    pipeline_tag="image-classification",
    tags=["captum", "interpretability", "cifar10"],
    repo_url="https://github.com/pytorch/captum",
    docs_url="https://captum.ai/tutorials/CIFAR_TorchVision_Interpret",
):
    """LeNet-style CIFAR-10 classifier from the Captum tutorial; returns logits."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool1 = nn.MaxPool2d(2, 2)
        self.pool2 = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)
        self.relu1 = nn.ReLU()
        self.relu2 = nn.ReLU()
        self.relu3 = nn.ReLU()
        self.relu4 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.after_conv1(self.conv1(x))

    def after_conv1(self, x: torch.Tensor) -> torch.Tensor:
        """Everything after the first (linear) layer; `interpret.attribution.fast` enters here."""
        return self.head(self.features_after_conv1(x))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """pool2's output (N x 16 x 5 x 5): the learned features the classifier head reads."""
        return self.features_after_conv1(self.conv1(x))

    def features_after_conv1(self, x: torch.Tensor) -> torch.Tensor:
        """pool2's output from conv1's (conv1 is affine: a path through it is computed once)."""
        return self.pool2(self.relu2(self.conv2(self.pool1(self.relu1(x)))))

    def head(self, features: torch.Tensor) -> torch.Tensor:
        """The logits from pool2's output: `forward(x) == head(features(x))`."""
        x = torch.flatten(features, 1)  # the tutorial's view(-1, 400), also for channels-last
        x = self.relu3(self.fc1(x))
        x = self.relu4(self.fc2(x))
        return self.fc3(x)


def hub_config() -> dict:
    """config.json contents: the init argument plus what a reader needs to use the weights."""
    return {
        "num_classes": len(CLASSES),
        "classes": list(CLASSES),
        "input_size": INPUT_SIZE,
        "mean": list(MEAN),
        "std": list(STD),
        "architecture": "captum-cifar10-tutorial-net",
    }


def contrastive_net(net: Net, target: int, other: int) -> Net:
    """A copy of `net` whose single output is logit[target] - logit[other].

    Explaining output 0 of this net answers "why `target` rather than `other`" with any
    method, Grad-CAM and the fast IG path included, since it is still a `Net`.
    """
    contrast = Net(num_classes=1).to(net.fc3.weight.device)
    contrast.load_state_dict(
        {
            **{k: v for k, v in net.state_dict().items() if not k.startswith("fc3.")},
            "fc3.weight": (net.fc3.weight[target] - net.fc3.weight[other]).unsqueeze(0),
            "fc3.bias": (net.fc3.bias[target] - net.fc3.bias[other]).unsqueeze(0),
        }
    )
    for parameter in contrast.parameters():
        parameter.requires_grad_(False)
    return contrast.eval()
