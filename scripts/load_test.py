"""Load test: many concurrent gradio_client users on `python app.py`, every answer checked.

Starts ``python app.py`` on a free loopback port (INTERPRET_MODEL_REPO="" so nothing is
fetched; ``--weights`` or the shipped weights) or targets ``--url`` of a running one (loopback
only). ``--clients`` threads, each with its own gradio_client, send ``--requests`` calls in
total: /explain, and (``--features``, a quarter by default) /features, which passes through the
same model in memory at the same time. Images and settings vary (the bundled CIFAR-10
examples and generated odd ones: grayscale, RGBA, 1x1, palette GIF, 16-bit PNG, a 4000x3000
JPEG). Every answer is compared with `interpret.explain` (or `interpret.features`) run here on
the same weights, image and settings: top-5, details (prediction, target, captions, params,
probabilities, deltas to 1e-6, timing keys, method agreement) and every gallery image pixel
for pixel; each feature's contribution to 1e-6. So a map from another request (cross-talk) or
a wrong attribution cannot pass. The server's resident memory (RSS, with its children) is
measured after a warm-up and after the run and must stay within 20 %.
A second server with a small INTERPRET_QUEUE_SIZE then takes a burst beyond its queue: the
excess must be told "try again" at once, and the server must serve normally afterwards.

Bounded in count and time (``--max-seconds`` for the whole run); exit status 1 on any
failure, mismatch, memory growth or failed queue check. Examples:

    python scripts/load_test.py                      # 16 clients, 200 requests
    python scripts/load_test.py --clients 8 --requests 24 --cheap --json
    python scripts/load_test.py --url http://127.0.0.1:7860/ --weights weights

The parts live in ``scripts/loadtest/``: ``server.py`` (start, stop, memory), ``generator.py``
(images, request plan, concurrent clients) and ``verify.py`` (the library's answer, comparison).
"""

from __future__ import annotations

import os

# Loopback only: no telemetry from gradio_client or huggingface_hub, no Hub look-ups. Set
# before those libraries are imported, since they read the environment at import time.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

import argparse
import json
import shlex
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # loadtest/, also when imported
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # interpret/

import torch
from gradio_client.utils import QueueError
from loadtest.generator import (
    PREDICTED,
    Outcome,
    Request,
    call_app,
    image_set,
    make_client,
    plan_requests,
    run_phase,
    summarize,
)
from loadtest.server import (
    ROOT,
    PeakMemory,
    Server,
    check_loopback,
    listening_pid,
    rss_bytes,
    start_app,
    wait_ready,
)
from loadtest.verify import (
    Expected,
    check_answer,
    compare,
    expected_answer,
    expected_result,
    same_weights,
)

from interpret import Net, load_model
from interpret.core.model import hub_config
from interpret.core.preprocess import model_image
from interpret.dataset.sampler import Sampler

MEMORY_GROWTH_LIMIT = 0.20
# Also used from here by tests/app/test_load.py (the comparison on a hand-made answer).
__all__ = [
    "Expected",
    "Outcome",
    "Request",
    "Server",
    "check_answer",
    "compare",
    "expected_answer",
    "expected_result",
    "start_app",
]


def queue_check(
    app: str,
    weights: str | None,
    workdir: Path,
    net: Net,
    images: dict[str, Path],
    truths: dict[str, int | None],
    queue_size: int,
    burst: int,
    deadline: float,
) -> dict[str, Any]:
    """A burst beyond a small queue: the excess hears "try again" at once, the rest are
    served right, and a normal request afterwards is served right too."""
    server = start_app(
        weights,
        workdir,
        "queue",
        app,
        INTERPRET_QUEUE_SIZE=str(queue_size),
        INTERPRET_CONCURRENCY="1",
    )
    name = "cifar10_04_6.png"
    # ~2,500 rows of NoiseTunnel(IG) each: long enough that the burst arrives while the
    # first request still runs, cheap enough to finish the accepted ones in seconds.
    heavy = Request(name, ("ig_smoothgrad_sq",), PREDICTED, 50, 50, 0.2, "zeros", 7, 0.5)
    normal = Request(name, ("saliency", "deeplift"), "cat", 8, 2, 0.2, "black", 3, 0.5)
    wanted = {r: expected_result(net, r, images[name], truths[name]) for r in (heavy, normal)}
    report: dict[str, Any] = {"queue_size": queue_size, "concurrency": 1, "burst": burst}
    try:
        report["start_s"] = round(wait_ready(server, deadline), 1)
        client = make_client(server.url, workdir / "queue-downloads")
        barrier = threading.Barrier(burst)
        results: list[tuple[str, float, list[str]]] = []
        lock = threading.Lock()

        def one() -> None:
            barrier.wait()
            started = time.perf_counter()
            try:
                answer = call_app(client, images[name], heavy, 300)
                kind, problems = "served", compare(answer, wanted[heavy])
            except QueueError as error:
                kind, problems = "busy", [] if "try again" in str(error) else [str(error)]
            except Exception as error:
                kind, problems = "failed", [f"{type(error).__name__}: {error}"]
            with lock:
                results.append((kind, time.perf_counter() - started, problems))

        threads = [threading.Thread(target=one) for _ in range(burst)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        busy = [seconds for kind, seconds, _ in results if kind == "busy"]
        report.update(
            served=sum(kind == "served" for kind, _, _ in results),
            busy=len(busy),
            failed=sum(kind == "failed" for kind, _, _ in results),
            busy_answer_max_s=round(max(busy), 2) if busy else None,
            problems=[p for _, _, problems in results for p in problems],
        )
        after = compare(call_app(client, images[name], normal, 120), wanted[normal])
        report["served_after"] = not after
        report["problems"] += after
        client.close()
    except Exception as error:
        report["problems"] = [*report.get("problems", []), f"{type(error).__name__}: {error}"]
    finally:
        server.stop()
    report["ok"] = bool(
        not report.get("problems")
        and report.get("busy", 0) > 0
        and report.get("failed", 1) == 0
        and report.get("served", 0) >= 1
        and report.get("served_after")
    )
    return report


# ---------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line: size of the load, where the app is, which weights, what to print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument("--requests", type=int, default=200, help="calls in all (200)")
    parser.add_argument("--warmup", type=int, help="checked calls before memory is measured")
    parser.add_argument("--max-seconds", type=float, default=600, help="whole run (600)")
    parser.add_argument("--url", help="a running app on this machine (default: start one)")
    parser.add_argument("--weights", help="weights source for app.py and the library check")
    parser.add_argument(
        "--app", default="app.py", help="script to start instead of app.py (e.g. a patched copy)"
    )
    parser.add_argument("--seed", type=int, default=0, help="request plan seed (0)")
    parser.add_argument("--cheap", action="store_true", help="cheapest methods and settings")
    parser.add_argument(
        "--features",
        type=float,
        default=0.25,
        help="share of /features calls among the /explain ones (0.25): other endpoints at once",
    )
    parser.add_argument("--queue-size", type=int, default=2, help="queue of the burst server")
    parser.add_argument("--burst", type=int, default=10, help="requests sent at once to it")
    parser.add_argument("--no-queue-check", action="store_true", help="skip the burst check")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.requests < 1:
        parser.error("--clients and --requests must be at least 1")
    if not 0 <= args.features <= 1:
        parser.error("--features must be between 0 and 1")
    return args


def resolve_weights(args: argparse.Namespace, workdir: Path) -> str | None:
    """The --weights source; else the shipped weights, or seeded test weights when the
    shipped ones are missing (the figures depend on the architecture, not the values)."""
    if args.weights:  # as the app at --url was given it; else from here, for app.py in ROOT
        local = Path(args.weights).exists() and not args.url
        return str(Path(args.weights).resolve()) if local else args.weights
    if (ROOT / "weights" / "model.safetensors").is_file():
        return None
    torch.manual_seed(1234)
    directory = workdir / "seeded-weights"
    Net().eval().save_pretrained(directory, config=hub_config())
    print(
        f"weights/model.safetensors missing: using seeded weights in {directory}", file=sys.stderr
    )
    return str(directory)


def markdown(report: dict[str, Any]) -> str:
    """The figures as a README table."""
    load, memory = report["load"], report["memory"]
    lat = load["latency_s"]

    def seconds(value: float | None) -> str:
        return "—" if value is None else f"{value:.2f}"

    mb = (
        f"{memory['before_mb']:.0f} → {memory['after_mb']:.0f} ({memory['growth_pct']:+.1f} %)"
        if memory.get("before_mb")
        else "not measured"
    )
    busy = report.get("queue", {})
    rows = [
        "| clients | requests | failures | mismatches | p50 (s) | p95 (s) | max (s) "
        "| throughput (req/s) | server RSS before → after (MB) | queue burst |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
        f"| {report['clients']} | {load['requests_done']} | {load['failures']} "
        f"| {load['mismatches']} | {seconds(lat['p50'])} | {seconds(lat['p95'])} "
        f"| {seconds(lat['max'])} | {load['throughput_rps'] or 0:.2f} | {mb} "
        + (
            f"| {busy.get('burst')} sent, {busy.get('served')} served, {busy.get('busy')} busy |"
            if busy
            else "| skipped |"
        ),
    ]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    deadline = started + args.max_seconds
    workdir = Path(tempfile.mkdtemp(prefix="interpret-load-"))
    problems: list[str] = []
    report: dict[str, Any] = {
        "command": shlex.join([sys.executable, *sys.argv]),
        "app": args.app,
        "clients": args.clients,
        "requests_planned": args.requests,
        "cpu_count": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "torch_threads": torch.get_num_threads(),
    }
    server: Server | None = None
    try:
        weights = resolve_weights(args, workdir)
        if args.url:
            url = check_loopback(args.url)
        else:
            server = start_app(weights, workdir, "load", args.app)
            url = server.url
        # The library side, while the app starts: same weights, same images, same settings.
        os.environ["INTERPRET_MODEL_REPO"] = ""
        net = load_model(weights)
        report["weights"] = net.weights_source
        images = image_set(workdir / "images")
        sampler = Sampler()
        truths = {
            name: (sampler.truth(model_image(path)) or (None,))[0] for name, path in images.items()
        }
        warmup_count = args.clients if args.warmup is None else args.warmup
        plan = plan_requests(
            warmup_count + args.requests, images, truths, args.seed, args.cheap, args.features
        )
        compute_started = time.monotonic()
        expected = {}
        for request in plan:
            if time.monotonic() > deadline:
                raise TimeoutError("--max-seconds reached while computing the expected results")
            if request not in expected:
                path = images[request.image]
                expected[request] = expected_answer(net, request, path, truths[request.image])
        report["library_s"] = round(time.monotonic() - compute_started, 1)
        if server is not None:
            report["app_ready_wait_s"] = round(wait_ready(server, deadline), 1)
        pid = server.process.pid if server is not None else listening_pid(url)

        clients = [make_client(url, workdir / "downloads") for _ in range(args.clients)]
        same_weights(clients[0], images, net)
        numbered = list(enumerate(plan))

        def check(answer: Any, request: Request) -> list[str]:
            return check_answer(answer, request, expected[request])

        warm, _ = run_phase(clients, numbered[:warmup_count], images, check, deadline)
        report["warmup"] = summarize(warm, None)
        time.sleep(1.0)
        before = rss_bytes(pid) if pid else None
        with PeakMemory(pid) as peak:
            outcomes, wall_s = run_phase(clients, numbered[warmup_count:], images, check, deadline)
        time.sleep(1.0)
        after = rss_bytes(pid) if pid else None
        for client in clients:
            client.close()
        report["load"] = summarize(outcomes, wall_s)
        memory: dict[str, Any] = {"pid": pid}
        if before and after:
            growth = after / before - 1
            memory.update(
                before_mb=before / 2**20,
                after_mb=after / 2**20,
                peak_mb=max(peak.peak, after) / 2**20,
                course_mb=peak.course_mb(),
                growth_pct=100 * growth,
                limit_pct=100 * MEMORY_GROWTH_LIMIT,
            )
            if growth > MEMORY_GROWTH_LIMIT:
                problems.append(f"server RSS grew {100 * growth:.1f} % (limit 20 %)")
        report["memory"] = memory

        for phase, summary in (("warm-up", report["warmup"]), ("load", report["load"])):
            if summary["failures"]:
                problems.append(f"{summary['failures']} failed requests in the {phase}")
            if summary["mismatches"]:
                problems.append(
                    f"{summary['mismatches']} answers differ from the library in the {phase}"
                )
        if report["load"]["requests_done"] < args.requests:
            problems.append(
                f"--max-seconds reached: {report['load']['requests_done']} of "
                f"{args.requests} requests done"
            )
        if args.no_queue_check or args.url:
            report["queue"] = {}
        else:
            report["queue"] = queue_check(
                args.app,
                weights,
                workdir,
                net,
                images,
                truths,
                args.queue_size,
                args.burst,
                deadline,
            )
            if not report["queue"]["ok"]:
                problems.append(f"queue check failed: {report['queue']}")
    except (Exception, SystemExit) as error:
        problems.append(f"load test aborted: {type(error).__name__}: {error}")
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    report["wall_s"] = round(time.monotonic() - started, 1)
    report["problems"] = problems
    report["ok"] = not problems
    text = human(report)
    if args.json:
        print(text, file=sys.stderr)
        print(json.dumps(report, indent=2))
    else:
        print(text)
    return 0 if report["ok"] else 1


def human(report: dict[str, Any]) -> str:
    lines = [
        f"command: {report['command']}",
        f"weights: {report.get('weights')}",
        f"{report['cpu_count']} CPUs, load average at start {report['load_average_at_start']}",
    ]
    if "load" in report:
        lines += [markdown(report), ""]
        for key in ("failure_examples", "mismatch_examples"):
            lines += [f"  {line}" for line in report["load"][key]]
    if report.get("queue"):
        lines.append(f"queue check: {report['queue']}")
    lines.append(
        f"{'PASS' if report['ok'] else 'FAIL'} in {report['wall_s']} s"
        + "".join(f"\n  - {problem}" for problem in report["problems"])
    )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
