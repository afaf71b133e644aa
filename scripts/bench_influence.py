"""Benchmark: the training-data view (`interpret.influence`), against its budgets and Captum.

* the training split decoded cold, then read from the decoded-pixels cache;
* the index (every training image's fc3 input and loss gradient per checkpoint) cold and from
  the disk cache, its bytes on disk in float32 and float16;
* one query (TracIn scores of every training image, top 8 each way) against Captum's
  TracInCPFast on the first `--captum-images` training images (the same scores);
* the self-influence ranking from the index;
* float16 against float32: the largest score difference and the top-8 overlap;
* the bundled examples: how many of a confidently right image's top-8 proponents share its
  label;
* with ``--space``: what a Space would fetch, the Hub's parquet (PNG per image) against a
  precomputed index plus thumbnails, in bytes and time to the first answer (network time
  apart: it is the bytes divided by the bandwidth).

    python scripts/bench_influence.py --data-dir ../shared/cifar10 --space
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from interpret import load_model  # noqa: E402
from interpret.dataset.predictions import normalized_batch  # noqa: E402
from interpret.dataset.sources import bundled, decode_images  # noqa: E402
from interpret.dataset.train_split import open_local_train  # noqa: E402
from interpret.influence import build_index, history_for, training_influence  # noqa: E402
from interpret.influence.checkpoints import captum_checkpoint_loader  # noqa: E402
from interpret.influence.index import forget_in_memory  # noqa: E402

CONFIDENT = 0.9  # "confidently right": the final model's probability of the true class


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weights", default=str(ROOT / "weights"), help="folder with checkpoints/")
    parser.add_argument("--data-dir", type=Path, required=True, help="a CIFAR-10 copy with train/")
    parser.add_argument("--repeats", type=int, default=7, help="timed queries (median)")
    parser.add_argument("--captum-images", type=int, default=2000)
    parser.add_argument("--space", action="store_true", help="measure the Space's two sources")
    parser.add_argument("--json", action="store_true", help="print the report as JSON only")
    return parser.parse_args(argv)


def timed(work):
    started = time.perf_counter()
    value = work()
    return value, time.perf_counter() - started


def captum_query(model, history, training_set, pixels, target: int, count: int):
    """Captum's TracInCPFast scores for one query over the first `count` training images
    (the query's loss: plain cross-entropy at the target, the library's default)."""
    from captum.influence import TracInCPFast
    from torch.utils.data import TensorDataset

    cpu = torch.device("cpu")
    dataset = TensorDataset(
        normalized_batch(training_set.images[:count], cpu),
        torch.from_numpy(training_set.labels[:count].copy()),
    )
    tracin = TracInCPFast(
        type(model)(),
        "fc3",
        dataset,
        [str(checkpoint.path) for checkpoint in history.checkpoints],
        checkpoints_load_func=captum_checkpoint_loader(history),
        loss_fn=torch.nn.CrossEntropyLoss(label_smoothing=history.label_smoothing, reduction="sum"),
        test_loss_fn=torch.nn.CrossEntropyLoss(reduction="sum"),
        batch_size=500,
    )
    inputs = (normalized_batch(pixels[None], cpu), torch.tensor([target]))
    return timed(lambda: tracin.influence(inputs)[0].numpy())


def subset_index(index, count: int):
    """The index restricted to the first `count` training images (same checkpoints)."""
    return dataclasses.replace(
        index,
        activations=index.activations[:, :count],
        gradients=index.gradients[:, :count],
        labels=index.labels[:count],
        predicted=index.predicted[:count],
        confidence=index.confidence[:count],
    )


def label_agreement(index, examples, query_loss: str) -> dict:
    """Top-8 proponents sharing the target's label, over the confidently right examples."""
    shares, used = [], []
    for position, (pixels, label) in enumerate(zip(examples.images, examples.labels)):
        result = training_influence(index, pixels, int(label), query_loss=query_loss)
        with torch.no_grad():
            batch = normalized_batch(pixels[None], torch.device("cpu"))
            probability = float(torch.softmax(index.final_network(batch), 1)[0, label])
        if result.prediction == label and probability >= CONFIDENT:
            used.append(position)
            shares.append(float(np.mean([e.label == label for e in result.proponents])))
    return {
        "images": used,
        "shares": shares,
        "mean_share": float(np.mean(shares)) if shares else None,
        "min_share": float(np.min(shares)) if shares else None,
    }


def space_sources(training_set, index_path: Path, work: Path) -> dict:
    """The Hub-shaped parquet (PNG per image) against a precomputed float16 index plus the
    thumbnails, compressed: bytes, and the local time from the files to the first answer."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from PIL import Image

    encoded = []
    for pixels in training_set.images:
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG")
        encoded.append({"bytes": buffer.getvalue(), "path": None})
    parquet = work / "train.parquet"
    pq.write_table(pa.table({"img": encoded, "label": training_set.labels}), parquet)
    thumbnails = work / "thumbnails.npz"
    np.savez_compressed(thumbnails, images=training_set.images, labels=training_set.labels)

    def read_parquet():
        table = pq.read_table(parquet, columns=["img", "label"])
        return decode_images(table.column("img").combine_chunks().field("bytes").to_pylist())

    decoded, parquet_decode_s = timed(read_parquet)
    assert np.array_equal(decoded, training_set.images)

    def read_thumbnails():
        with np.load(thumbnails) as stored:
            return stored["images"]

    _, thumbnails_s = timed(read_thumbnails)
    return {
        "parquet_bytes": parquet.stat().st_size,
        "parquet_decode_s": parquet_decode_s,
        "index_float16_bytes": index_path.stat().st_size,
        "thumbnails_bytes": thumbnails.stat().st_size,
        "thumbnails_load_s": thumbnails_s,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    model = load_model(args.weights, device="cpu")
    history = history_for(model, Path(args.weights))
    examples = bundled()
    report: dict = {"checkpoints": len(history.checkpoints)}
    with tempfile.TemporaryDirectory() as scratch:
        cache = Path(scratch)
        training_set, decode_s = timed(lambda: open_local_train(args.data_dir, cache_dir=cache))
        _, pixels_cached_s = timed(lambda: open_local_train(args.data_dir, cache_dir=cache))
        report |= {"images": len(training_set), "decode_cold_s": decode_s}
        report["decode_from_cache_s"] = pixels_cached_s
        sizes, cold, loaded = {}, {}, {}
        for storage in ("float16", "float32"):
            forget_in_memory()
            built, cold[storage] = timed(
                lambda s=storage: build_index(
                    model, history, training_set, storage=s, cache_dir=cache
                )
            )
            sizes[storage] = built.bytes_on_disk
            forget_in_memory()
            index, loaded[storage] = timed(
                lambda s=storage: build_index(
                    model, history, training_set, storage=s, cache_dir=cache
                )
            )
            assert index.from_cache
            if storage == "float16":
                half = index
        report |= {"index_cold_s": cold, "index_from_cache_s": loaded, "index_bytes": sizes}
        pixels, label = examples.images[3], int(examples.labels[3])
        training_influence(index, pixels, label)  # warm: the checkpoints' networks built
        times = [timed(lambda: training_influence(index, pixels, label))[1]]
        times += [
            timed(lambda: training_influence(index, pixels, label))[1]
            for _ in range(args.repeats - 1)
        ]
        report["query_s"] = statistics.median(times)
        count = min(args.captum_images, len(training_set))
        theirs, captum_s = captum_query(model, history, training_set, pixels, label, count)
        small = subset_index(index, count)
        ours, ours_s = timed(lambda: training_influence(small, pixels, label))
        scale = float(np.abs(theirs).max())
        report["captum"] = {
            "images": count,
            "captum_query_s": captum_s,
            "library_query_s": ours_s,
            "max_difference_relative": float(np.abs(ours.scores - theirs).max()) / scale,
            "same_top8": [e.index for e in ours.proponents]
            == np.argsort(-theirs, kind="stable")[:8].tolist(),
        }
        fresh = dataclasses.replace(index)
        _, rank_s = timed(lambda: fresh.self_influence_order)
        report["self_influence_ranking_s"] = rank_s
        exact = training_influence(index, pixels, label)
        approximate = training_influence(half, pixels, label)
        report["float16"] = {
            "max_difference_relative": float(np.abs(exact.scores - approximate.scores).max())
            / float(np.abs(exact.scores).max()),
            "top8_overlap": len(
                {e.index for e in exact.proponents} & {e.index for e in approximate.proponents}
            ),
        }
        report["bundled_proponents_share_label"] = {
            loss: label_agreement(index, examples, loss) for loss in ("target", "training")
        }
        if args.space:
            path = next((cache / "influence").glob("*-float16.npz"))
            report["space"] = space_sources(training_set, path, cache)
            space = report["space"]
            space["parquet_first_answer_s"] = (
                space["parquet_decode_s"] + cold["float16"] + report["query_s"]
            )
            space["precomputed_first_answer_s"] = (
                loaded["float16"] + space["thumbnails_load_s"] + report["query_s"]
            )
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
