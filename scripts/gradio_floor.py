"""A Gradio app whose /explain returns a recorded answer of app.py's, computing nothing.

`scripts/bench.py --app` times a round trip to it beside the real app's: what Gradio and
gradio_client cost for /explain's outputs (the same PNG gallery, label and details), which no
server that keeps that API can go below.

    python scripts/gradio_floor.py ANSWER.json   # {"gallery": [[png, caption], ...], ...}
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image


def recorded_answer(path: Path) -> tuple[list[tuple[Image.Image, str]], dict, dict]:
    """The gallery as images (so Gradio encodes them again, as for app.py), label and details."""
    answer = json.loads(path.read_text())
    gallery = [(Image.open(png).convert("RGB"), caption) for png, caption in answer["gallery"]]
    for picture, _ in gallery:
        picture.load()
    label = {c["label"]: c["confidence"] for c in answer["label"]["confidences"]}
    return gallery, label, answer["details"]


def floor_app(answer: tuple[list[tuple[Image.Image, str]], dict, dict]) -> gr.Blocks:
    def explain(image: Any) -> tuple[list[tuple[Image.Image, str]], dict, dict]:
        return answer

    with gr.Blocks() as demo:
        image = gr.Image(type="filepath")
        outputs = [gr.Gallery(format="png"), gr.Label(num_top_classes=5), gr.JSON()]
        gr.Button().click(explain, image, outputs, api_name="explain")
    return demo


if __name__ == "__main__":
    floor_app(recorded_answer(Path(sys.argv[1]))).queue().launch()
