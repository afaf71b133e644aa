"""Command line: ``python -m interpret {explain,features,influence,predict,methods}``.

User errors (bad image, bad parameter, unusable weights) exit with code 2 and one line on
stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from interpret.attribution.methods import DEFAULT_METHODS, METHODS
from interpret.core.devices import exact_float32
from interpret.core.memory import retain_freed_memory
from interpret.core.model import CLASSES
from interpret.core.params import ParamError
from interpret.core.preprocess import ImageError, model_image, to_tensor
from interpret.core.weights import WeightsError, load_model
from interpret.explain import explain, resolve_methods
from interpret.influence.index import InfluenceUnavailable
from interpret.influence.query import QUERY_LOSSES

USER_ERRORS = (ImageError, ParamError, WeightsError, InfluenceUnavailable)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m interpret", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("explain", help="attribution maps for one image")
    run.add_argument("image")
    run.add_argument("--weights", help="weights source (directory, file or Hub repo id)")
    run.add_argument("--target", help="class index or name (default: the prediction)")
    run.add_argument("--methods", default=",".join(DEFAULT_METHODS), help="comma-separated keys")
    run.add_argument("--n-steps", type=int)
    run.add_argument("--nt-samples", type=int)
    run.add_argument("--stdevs", type=float)
    run.add_argument("--seed", type=int)
    run.add_argument("--baseline", help="zeros (default), black, blur, noise or mean")
    run.add_argument("--contrast", help="explain 'target rather than this class'")
    run.add_argument("--occlusion-window", type=int)
    run.add_argument("--occlusion-stride", type=int)
    run.add_argument(
        "--faithfulness",
        action="store_true",
        help="deletion/insertion AUC, infidelity, sensitivity",
    )
    run.add_argument("--sanity", action="store_true", help="model-randomization sanity check")
    run.add_argument("--out", default="explanation", help="output directory")

    inside = commands.add_parser(
        "features", help="the learned features (pool2 channels) behind one decision"
    )
    inside.add_argument("image")
    inside.add_argument("--weights", help="weights source (directory, file or Hub repo id)")
    inside.add_argument("--target", help="class index or name (default: the prediction)")
    inside.add_argument("--contrast", help="explain 'target rather than this class'")
    inside.add_argument("--baseline", default="zeros", help="zeros, black, blur, noise or mean")
    inside.add_argument("--n-steps", type=int, default=50)
    inside.add_argument("--top", type=int, default=6, help="channels drawn (default 6)")
    inside.add_argument("--out", default="features", help="output directory")

    data = commands.add_parser(
        "influence", help="the training images that pushed the model toward a decision (TracIn)"
    )
    data.add_argument("image")
    data.add_argument("--weights", help="a weights folder with checkpoints/ (default: shipped)")
    data.add_argument("--target", help="class index or name (default: the prediction)")
    data.add_argument("--k", type=int, default=8, help="proponents and opponents shown")
    data.add_argument(
        "--query-loss",
        choices=list(QUERY_LOSSES),
        default="target",
        help="; ".join(f"{name}: {meaning}" for name, meaning in QUERY_LOSSES.items()),
    )
    data.add_argument("--out", default="influence", help="output directory")

    predict = commands.add_parser("predict", help="top-5 classes for images")
    predict.add_argument("images", nargs="+")
    predict.add_argument("--weights")

    commands.add_parser("methods", help="list the attribution methods")
    return parser


def _explain(args: argparse.Namespace) -> None:
    methods = resolve_methods(args.methods)
    picture = model_image(args.image)  # refuse a bad file before spending time on weights
    model = load_model(args.weights)
    result = explain(
        model,
        picture,
        methods,
        args.target,
        n_steps=args.n_steps,
        nt_samples=args.nt_samples,
        stdevs=args.stdevs,
        seed=args.seed,
        baseline=args.baseline,
        occlusion_window=args.occlusion_window,
        occlusion_stride=args.occlusion_stride,
        contrast=args.contrast,
        faithfulness=args.faithfulness,
        sanity=args.sanity,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "attributions.npz", **result.attributions)
    (out / "result.json").write_text(result.to_json())
    result.image.save(out / "input.png")
    for key, overlay in result.overlays.items():
        overlay.save(out / f"{key}.png")
    print(
        f"{result.predicted_class} ({result.probabilities[result.prediction]:.1%}); "
        f"explained target {result.question}; wrote {out}/"
    )


def _features(args: argparse.Namespace) -> None:
    import json

    from interpret.concepts import features
    from interpret.concepts.pictures import patch_cards, share_cards, strip
    from interpret.dataset.sources import load_test_set

    picture = model_image(args.image)
    model = load_model(args.weights)
    images = load_test_set(download=False)  # INTERPRET_CIFAR10_DIR, else the bundled examples
    result = features(
        model,
        picture,
        args.target,
        args.contrast,
        baseline=args.baseline,
        n_steps=args.n_steps,
        images=images,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "features.json").write_text(json.dumps(result.to_dict(), indent=2))
    np.savez(
        out / "shares.npz",
        shares=result.shares.maps.cpu().numpy(),
        contributions=result.shares.contributions.cpu().numpy(),
    )
    shown = result.order[: max(0, args.top)]
    for channel, tile in zip(shown, share_cards(result, shown)):
        tile.save(out / f"channel_{channel:02d}.png")
        strip(patch_cards(result, images, channel)).save(out / f"channel_{channel:02d}_top.png")
    described = result.to_dict()
    print(
        f"{described['explained']}: total {described['total']:+.4f} over 16 channels "
        f"(delta {described['delta']:+.4f}); top channels "
        + ", ".join(f"{c['channel']} {c['contribution']:+.3f}" for c in described["channels"][:3])
        + f"; top images from {images.name}; wrote {out}/"
    )


def _influence(args: argparse.Namespace) -> None:
    import json

    from interpret.core.weights import SHIPPED_WEIGHTS
    from interpret.influence import influence_index, training_influence

    picture = model_image(args.image)
    model = load_model(args.weights or SHIPPED_WEIGHTS, device="cpu")
    folder = Path(args.weights) if args.weights else SHIPPED_WEIGHTS
    index = influence_index(model, folder, progress=_progress_line)
    print(file=sys.stderr)
    result = training_influence(index, picture, args.target, k=args.k, query_loss=args.query_loss)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "influence.json").write_text(json.dumps(result.to_dict(), indent=2))
    np.savez(out / "scores.npz", scores=result.scores, labels=index.labels)
    print(f"{result.target_class}: TracIn over {len(index):,} images of {index.training_set}")
    for title, examples in (("proponents", result.proponents), ("opponents", result.opponents)):
        print(
            f"{title}: " + ", ".join(f"#{e.index} {e.label_class} {e.score:+.3g}" for e in examples)
        )
    print(f"{result.note} Wrote {out}/")


def _progress_line(done: int, total: int, what: str) -> None:
    print(f"\r{what}: {done:,}/{total:,}", end="", file=sys.stderr, flush=True)


def _predict(args: argparse.Namespace) -> None:
    import torch

    model = load_model(args.weights)
    device = next(model.parameters()).device
    for path in args.images:
        with torch.no_grad():
            logits = model(to_tensor(model_image(path)).to(device))
        probabilities = torch.softmax(logits, dim=1)[0].cpu().numpy()
        top = np.argsort(-probabilities)[:5]
        ranked = ", ".join(f"{CLASSES[i]} {probabilities[i]:.1%}" for i in top)
        print(f"{path}: {ranked}")


def _methods() -> None:
    width = max(map(len, METHODS))
    for key, method in METHODS.items():
        default = " (default)" if key in DEFAULT_METHODS else ""
        print(f"{key:<{width}}  {method.label}{default}: {method.description}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    retain_freed_memory()
    exact_float32()
    try:
        if args.command == "explain":
            _explain(args)
        elif args.command == "features":
            _features(args)
        elif args.command == "influence":
            _influence(args)
        elif args.command == "predict":
            _predict(args)
        else:
            _methods()
    except USER_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(
            f"error: {error.strerror or error}: {error.filename or ''}".rstrip(": "),
            file=sys.stderr,
        )
        return 2
    return 0
