"""A Gradio app whose /explain returns a recorded answer of app.py's, computing nothing.

`scripts/bench.py --app` times a round trip to it beside the real app's: what Gradio and
gradio_client cost for /explain's outputs (the same PNG gallery, label and details), which no
server that keeps that API can go below.

    python scripts/gradio_floor.py ANSWER.json   # {"gallery": [[png, caption], ...], ...}
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import gradio as gr


def recorded_answer(path: Path, folder: Path) -> tuple[list[tuple[str, str]], dict, dict]:
    """The gallery as PNG files in `folder` (app.py hands Gradio finished PNG files too: see
    ui/files.py; encoding them is the app's work, serving them Gradio's), label and details."""
    answer = json.loads(path.read_text())
    gallery = []
    for number, (png, caption) in enumerate(answer["gallery"]):
        (folder / str(number)).mkdir()
        gallery.append((shutil.copy(png, folder / str(number) / "image.png"), caption))
    label = {c["label"]: c["confidence"] for c in answer["label"]["confidences"]}
    return gallery, label, answer["details"]


def floor_app(answer: tuple[list[tuple[str, str]], dict, dict]) -> gr.Blocks:
    def explain(image: Any) -> tuple[list[tuple[str, str]], dict, dict]:
        return answer

    with gr.Blocks() as demo:
        image = gr.Image(type="filepath")
        outputs = [gr.Gallery(format="png"), gr.Label(num_top_classes=5), gr.JSON()]
        gr.Button().click(explain, image, outputs, api_name="explain")
    return demo


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="gradio-floor-") as folder:
        answer = recorded_answer(Path(sys.argv[1]), Path(folder))
        floor_app(answer).queue().launch(allowed_paths=[folder])
