"""Benchmark: /influence and /hardest through a real `python app.py` and gradio_client, the
way a client meets them: the first request (the index built, or read from the disk cache),
then the median of repeated requests, beside /predict on the same image (the upload and
queue's own cost, which every endpoint pays).

The weights need their training checkpoints (``<weights>/checkpoints/``). Without them,
``--stand-in`` writes a stand-in history for the given weights into a temporary folder: the
final weights after four perturbed copies of them (the times depend on the number of
checkpoints and images, not on their values).

    python scripts/bench_influence_app.py --data-dir ../shared/cifar10 --stand-in
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from interpret import load_model  # noqa: E402
from interpret.influence.checkpoints import (  # noqa: E402
    CHECKPOINTS_DIR,
    checkpoint_entry,
    write_checkpoint,
    write_manifest,
)

EXAMPLE = ROOT / "examples" / "cifar10_03_0.png"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed requests (median)")
    parser.add_argument("--weights", type=Path, default=ROOT / "weights")
    parser.add_argument("--data-dir", type=Path, required=True, help="CIFAR-10 with train/")
    parser.add_argument("--stand-in", action="store_true", help="a stand-in history (above)")
    parser.add_argument("--port", type=int, default=7899)
    parser.add_argument("--json", action="store_true", help="print the report as JSON only")
    return parser.parse_args(argv)


def stand_in_history(weights: Path, folder: Path) -> Path:
    """`weights` copied into `folder` with four perturbed checkpoints and the final weights."""
    shutil.copytree(weights, folder, ignore=shutil.ignore_patterns(CHECKPOINTS_DIR, "tutorial"))
    model = load_model(folder, device="cpu")
    generator = torch.Generator().manual_seed(0)
    final = {name: value.clone() for name, value in model.state_dict().items()}
    entries, target = [], folder / CHECKPOINTS_DIR
    for number, epoch in enumerate((8, 16, 24, 32, 40), start=1):
        scale = 0.0 if epoch == 40 else 0.05 * (5 - number)
        with torch.no_grad():
            for name, value in model.state_dict().items():
                noise = torch.randn(value.shape, generator=generator) * value.std().nan_to_num()
                value.copy_(final[name] + scale * noise if value.is_floating_point() else value)
        path = write_checkpoint(model, target, epoch)
        entries.append(checkpoint_entry(path, epoch, (epoch - 8) * 391 + 1, [0.01] * 3128))
    write_manifest(target, entries, model, 0.1, "the CIFAR-10 training split")
    return folder


def wait_ready(url: str, process: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("bench_influence_app.py: the app stopped; see its log")
        try:
            with urllib.request.urlopen(url + "gradio_api/info", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("bench_influence_app.py: the app did not start in time")


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from gradio_client import Client, handle_file

    with tempfile.TemporaryDirectory(prefix="bench-influence-app-") as tmp:
        weights = args.weights
        if args.stand_in:
            weights = stand_in_history(args.weights, Path(tmp) / "weights")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("INTERPRET_", "GRADIO_"))}
        env.update(
            INTERPRET_WEIGHTS=str(weights),
            INTERPRET_MODEL_REPO="",
            INTERPRET_CIFAR10_DIR=str(args.data_dir),
            INTERPRET_CACHE_DIR=str(Path(tmp) / "cache"),
            GRADIO_SERVER_PORT=str(args.port),
            GRADIO_TEMP_DIR=str(Path(tmp) / "gradio"),
            HF_HUB_OFFLINE="1",
        )
        url = f"http://127.0.0.1:{args.port}/"
        with open(Path(tmp) / "app.log", "w") as log:
            process = subprocess.Popen(
                [sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=log
            )
            try:
                wait_ready(url, process)
                client = Client(url, verbose=False)
                image = handle_file(str(EXAMPLE))
                first = timed(lambda: client.predict(image, api_name="/influence"))
                hardest_first = timed(lambda: client.predict(api_name="/hardest"))
                influence = [
                    timed(lambda: client.predict(image, api_name="/influence"))
                    for _ in range(args.repeats)
                ]
                predict = [
                    timed(lambda: client.predict(image, api_name="/predict"))
                    for _ in range(args.repeats)
                ]
                hardest = [
                    timed(lambda: client.predict("cat", 3, api_name="/hardest"))
                    for _ in range(args.repeats)
                ]
                answer = client.predict(image, api_name="/influence")
            finally:
                process.terminate()
                process.wait(30)
    report = {
        "training_images": answer["train_set"]["size"],
        "checkpoints": len(answer["checkpoints"]),
        "first_influence_s (training set load + index + query)": round(first, 2),
        "first_hardest_s": round(hardest_first, 3),
        "influence_median_s": round(statistics.median(influence), 3),
        "influence_range_s": [round(min(influence), 3), round(max(influence), 3)],
        "predict_median_s (upload and queue, same image)": round(statistics.median(predict), 3),
        "hardest_median_s": round(statistics.median(hardest), 3),
    }
    print(json.dumps(report, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
