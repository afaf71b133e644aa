"""Benchmark: the learned-features view (`interpret.concepts`), against its direct baselines
in the same process.

* shares: one image's 16 channel shares of the IG map, one batched pass after conv1 (what
  `interpret.features` runs) against 16 Captum IntegratedGradients calls, each restricted to
  one pool2 channel by a forward hook (the textbook way);
* top images: every channel's most active images of the set, cold (computed) and from the
  disk cache;
* atlas: the class x feature atlas, forward mode along the path (what `feature_atlas` runs) on
  a sample of the correctly classified images against the same sums from `channel_shares`
  image by image; then the whole set cold and from the cache.

    python scripts/bench_features.py --repeats 7 --data-dir ../shared/cifar10/test
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from captum.attr import IntegratedGradients  # noqa: E402

from interpret import features, load_model  # noqa: E402
from interpret.concepts import channel_shares, contributions, feature_atlas, top_images  # noqa: E402
from interpret.core.preprocess import model_image, to_tensor  # noqa: E402
from interpret.dataset.predictions import normalized_batch, predict_test_set  # noqa: E402
from interpret.dataset.sources import bundled, open_local  # noqa: E402

EXAMPLE = ROOT / "examples" / "cifar10_03_0.png"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per side (median)")
    parser.add_argument("--weights", default=str(ROOT / "weights"))
    parser.add_argument("--data-dir", type=Path, help="a CIFAR-10 test folder (else the examples)")
    parser.add_argument("--sample", type=int, default=40, help="images in the atlas's ratio row")
    parser.add_argument("--json", action="store_true", help="print the report as JSON only")
    return parser.parse_args(argv)


def median_s(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def hooked_captum_shares(model, inputs: torch.Tensor, target: int) -> torch.Tensor:
    """The baseline: one Captum IG call per channel, pool2 restricted by a forward hook."""
    shares = []
    for channel in range(model.conv2.out_channels):
        mask = torch.zeros(1, model.conv2.out_channels, 1, 1)
        mask[0, channel] = 1
        hook = model.pool2.register_forward_hook(
            lambda module, args, out, mask=mask: out * mask + (out * (1 - mask)).detach()
        )
        try:
            ig = IntegratedGradients(model)
            shares.append(ig.attribute(inputs, baselines=inputs * 0, target=target, n_steps=50))
        finally:
            hook.remove()
    return torch.cat(shares)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    warnings.filterwarnings("ignore")
    model = load_model(args.weights, device="cpu")
    images = open_local(args.data_dir) if args.data_dir else bundled()
    inputs = to_tensor(model_image(EXAMPLE))
    report: dict = {
        "images": len(images.labels),
        "set": images.name,
        "threads": torch.get_num_threads(),
    }

    batched = median_s(lambda: channel_shares(model, inputs, inputs * 0, 0, 50), args.repeats)
    hooked = median_s(lambda: hooked_captum_shares(model, inputs, 0), args.repeats)
    gap = (
        hooked_captum_shares(model, inputs, 0)
        - channel_shares(model, inputs, inputs * 0, 0, 50).maps
    )
    report["shares"] = {
        "batched_s": batched,
        "hooked_captum_s": hooked,
        "ratio": batched / hooked,
        "max_difference": float(gap.abs().max()),
    }

    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        top_images(model, images, cache_dir=Path(cache))
        cold = time.perf_counter() - started
        cached = median_s(lambda: top_images(model, images, cache_dir=Path(cache)), args.repeats)
        report["top_images"] = {"cold_s": cold, "cached_s": cached, "ratio": cached / cold}
        full = median_s(
            lambda: features(model, EXAMPLE, images=images, cache_dir=Path(cache)), args.repeats
        )
        report["features_with_cached_top_images_s"] = full

        predicted = predict_test_set(model, images, cache_dir=Path(cache)).predicted
        correct = (predicted == images.labels).nonzero()[0][: args.sample]
        batch = normalized_batch(images.images[correct], torch.device("cpu"))
        labels = torch.as_tensor(images.labels[correct])
        forward = median_s(lambda: contributions(model, batch, batch * 0, labels, 50), 3)
        one_by_one = median_s(
            lambda: [
                channel_shares(model, batch[i : i + 1], batch[:1] * 0, int(labels[i]), 50)
                for i in range(len(batch))
            ],
            3,
        )
        report["atlas_per_image"] = {
            "forward_mode_s": forward / len(batch),
            "shares_one_by_one_s": one_by_one / len(batch),
            "ratio": forward / one_by_one,
        }
        started = time.perf_counter()
        atlas = feature_atlas(model, images, cache_dir=Path(cache))
        cold = time.perf_counter() - started
        cached = median_s(lambda: feature_atlas(model, images, cache_dir=Path(cache)), args.repeats)
        report["atlas"] = {
            "correct_images": len(atlas.indices),
            "cold_s": cold,
            "cached_s": cached,
            "ratio": cached / cold,
        }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    shares, top, atlas_row = report["shares"], report["top_images"], report["atlas"]
    print(f"{report['set']} ({report['images']} images), {report['threads']} threads")
    print(
        f"shares of one map: {shares['batched_s'] * 1e3:.1f} ms batched vs "
        f"{shares['hooked_captum_s'] * 1e3:.1f} ms for 16 hooked Captum calls "
        f"(ratio {shares['ratio']:.3f}; largest difference {shares['max_difference']:.1e})"
    )
    print(
        f"top images: {top['cold_s']:.2f} s cold, {top['cached_s'] * 1e3:.1f} ms cached; "
        f"features() with them cached: {report['features_with_cached_top_images_s'] * 1e3:.1f} ms"
    )
    per = report["atlas_per_image"]
    print(
        f"atlas per image: {per['forward_mode_s'] * 1e3:.2f} ms forward mode vs "
        f"{per['shares_one_by_one_s'] * 1e3:.2f} ms share by share (ratio {per['ratio']:.3f}); "
        f"{atlas_row['correct_images']} images: {atlas_row['cold_s']:.1f} s cold, "
        f"{atlas_row['cached_s'] * 1e3:.1f} ms cached"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
