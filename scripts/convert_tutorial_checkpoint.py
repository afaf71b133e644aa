"""Convert the Captum CIFAR-10 tutorial's checkpoint to safetensors, in save_pretrained layout.

The tutorial ships its trained `Net` as a pickled state dict (``cifar_torchvision.pt``). This
reads it with ``torch.load(weights_only=True)`` (no code runs), loads it strictly into `Net`
(every tensor must fit), and writes ``config.json`` + ``model.safetensors`` through the Hub
mixin, the same layout as the shipped ``weights/``, so `interpret.load_model` and the model
registry read it like any other weights. Next to them: ``LICENSE`` (Captum's BSD-3-Clause
text, which a redistribution must carry) and ``metrics.json`` (provenance, license and, with
``--data-dir``, the top-1 accuracy that ``scripts/evaluate.py`` measures on that test set).

Example:
    python scripts/convert_tutorial_checkpoint.py \\
        --checkpoint ../shared/reference/cifar_torchvision.pt --out weights/tutorial \\
        --data-dir ../shared/cifar10
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shlex
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from interpret.core.model import Net, hub_config
from interpret.core.weights import WeightsError, load_model, public_path, sha256_of

TUTORIAL_URL = "https://captum.ai/tutorials/CIFAR_TorchVision_Interpret"
LICENSE_NAME = "BSD-3-Clause"
PUBLISHER = "Meta Platforms, Inc. and affiliates (Captum, https://github.com/pytorch/captum)"
# Captum's LICENSE as its 0.9.0 wheel ships it (captum-0.9.0.dist-info/licenses/LICENSE).
CAPTUM_LICENSE = """BSD 3-Clause License

Copyright (c) 2019, PyTorch team
All rights reserved.

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:

* Redistributions of source code must retain the above copyright notice, this
  list of conditions and the following disclaimer.

* Redistributions in binary form must reproduce the above copyright notice,
  this list of conditions and the following disclaimer in the documentation
  and/or other materials provided with the distribution.

* Neither the name of the copyright holder nor the names of its
  contributors may be used to endorse or promote products derived from
  this software without specific prior written permission.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE
FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY,
OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, required=True, help="the tutorial's .pt")
    parser.add_argument("--out", type=Path, required=True, help="folder to write")
    parser.add_argument(
        "--data-dir", type=Path, help="ImageFolder copy of CIFAR-10 to measure the accuracy on"
    )
    return parser.parse_args(argv)


def convert(checkpoint: Path, out: Path) -> Net:
    """Strictly load the pickled state dict (weights only) and write it as safetensors."""
    try:
        net = load_model(checkpoint, device="cpu")  # torch.load(weights_only=True), strict
    except WeightsError as error:
        raise SystemExit(f"error: {error}") from error
    out.mkdir(parents=True, exist_ok=True)
    with contextlib.redirect_stdout(io.StringIO()):
        net.save_pretrained(out, config=hub_config())
    (out / "README.md").unlink(missing_ok=True)  # the mixin's card would say MIT: it is not
    (out / "LICENSE").write_text(CAPTUM_LICENSE)
    converted = load_model(out, device="cpu")
    original = torch.load(checkpoint, map_location="cpu", weights_only=True)
    for name, tensor in converted.state_dict().items():
        if not torch.equal(tensor, original[name]):
            raise SystemExit(f"error: {name} changed in conversion")
    return converted


def command_line(words: list[str]) -> str:
    """The invocation for metrics.json, which ships with the weights: every argument that is
    an existing path is shown as `public_path` shows it (inside the project relative to it,
    else by its name), so no directory of the converting machine is published."""
    shown = [public_path(word) if Path(word).exists() else word for word in words]
    return shlex.join(["python", "scripts/convert_tutorial_checkpoint.py", *shown])


def measure(out: Path, data_dir: Path) -> dict:
    """Top-1 and per-class accuracy exactly as scripts/evaluate.py reports them."""
    import evaluate  # scripts/evaluate.py

    with contextlib.redirect_stdout(io.StringIO()):
        summary = evaluate.main(["--data-dir", str(data_dir), "--weights", str(out), "--json"])
    result = summary["results"][0]
    evaluate_command = ["python", "scripts/evaluate.py", "--data-dir", public_path(data_dir)]
    evaluate_command += ["--weights", public_path(out)]
    return {
        "test_top1": result["top1"],
        "test_per_class": result["per_class"],
        "test_images": summary["num_images"],
        "data_source": summary["data_source"],
        "measured_by": shlex.join(evaluate_command),
    }


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    convert(args.checkpoint, args.out)
    metrics: dict = {
        "name": "Captum CIFAR-10 tutorial checkpoint",
        "license": LICENSE_NAME,
        "copyright": "Copyright (c) 2019, PyTorch team (see LICENSE)",
        "publisher": PUBLISHER,
        "origin": TUTORIAL_URL,
        "source_file": args.checkpoint.name,
        "source_sha256": sha256_of(args.checkpoint),
        "safetensors_sha256": sha256_of(args.out / "model.safetensors"),
        "conversion": "torch.load(weights_only=True), Net.load_state_dict(strict=True), "
        "save_pretrained (safetensors); every tensor compared equal after reloading",
    }
    if args.data_dir is not None:
        metrics.update(measure(args.out, args.data_dir))
    metrics["command"] = command_line(argv if argv is not None else sys.argv[1:])
    (args.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    top1 = metrics.get("test_top1")
    measured = f"; top-1 {100 * top1:.2f} %" if top1 is not None else ""
    print(f"wrote {public_path(args.out)}{measured}")
    return metrics


if __name__ == "__main__":
    main()
