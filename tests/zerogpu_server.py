"""The session's `python app.py` as a ZeroGPU Space runs it, on this machine (no CUDA):
SPACES_ZERO_GPU=true with tests/zerogpu_standin first on PYTHONPATH, so `import spaces` gets
the stand-in of the ZeroGPU wrapper (a forked worker per GPU function, pickled arguments and
results; its doc says what it keeps of the real one) and the app's own code path is the
Space's. On the full test set when ../shared has it, with a cache of its own (the first
predictions are computed by a GPU call, not found in the session's cache).

The stand-in writes one JSON line per GPU call to RECORD and reads CONTROL before each call:
`calls`, `fail_next` and `quota_left` read and write them. A module uses the server with
`APP_ENV = ENV` (tests/app/test_app_zerogpu.py and tests/browser/test_browser_zerogpu.py share it).
"""

from __future__ import annotations

import json
import os
from typing import Any

from conftest import ROOT, SESSION_DIR, SHARED

STANDIN = ROOT / "tests" / "zerogpu_standin"
FOLDER = SESSION_DIR / "zerogpu"
RECORD = FOLDER / "calls.jsonl"
CONTROL = FOLDER / "control.json"
FULL = SHARED / "cifar10" / "test"
FOLDER.mkdir(parents=True, exist_ok=True)

ENV = {
    "SPACES_ZERO_GPU": "true",
    "PYTHONPATH": os.pathsep.join(filter(None, [str(STANDIN), os.environ.get("PYTHONPATH")])),
    "ZEROGPU_STANDIN_RECORD": str(RECORD),
    "ZEROGPU_STANDIN_CONTROL": str(CONTROL),
    "INTERPRET_CACHE_DIR": str(FOLDER / "cache"),
    **({"INTERPRET_CIFAR10_DIR": str(FULL)} if FULL.is_dir() else {}),
}
# What the test set weighs in memory: what each Test set call pickled before the GPU
# functions took the set's fingerprint instead (3,072 bytes an image).
SET_BYTES = (10_000 if FULL.is_dir() else 20) * 32 * 32 * 3


def calls(since: int = 0) -> list[dict[str, Any]]:
    """The GPU calls recorded so far (from the `since`-th on)."""
    if not RECORD.exists():
        return []
    lines = RECORD.read_text().splitlines()
    return [json.loads(line) for line in lines[since:]]


def fail_next(kind: str) -> None:
    """The next GPU call fails as ZeroGPU's does: "quota", "no_gpu", "queue_timeout",
    "illegal_duration", or "abort" (its worker dies)."""
    CONTROL.write_text(json.dumps({"fail": kind}))


def quota_left(seconds: int | None) -> None:
    """Every GPU call that declares more than `seconds` is refused for quota (None: no limit)."""
    if seconds is None:
        CONTROL.unlink(missing_ok=True)
    else:
        CONTROL.write_text(json.dumps({"left": seconds}))
