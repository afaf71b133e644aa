"""The raw-data downloads: the .npz and .json files under the trust panel, and the /download
step chained after each explanation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from . import api
from .config import RAW


@dataclass
class Downloads:
    npz_file: gr.File
    json_file: gr.File

    @property
    def files(self) -> list[gr.File]:
        return [self.npz_file, self.json_file]


def build() -> Downloads:
    """Lay out the two file slots (filled by /download after each explanation)."""
    gr.Markdown("### Raw data, to reproduce any map exactly")
    with gr.Row():
        npz_file = gr.File(
            label="Raw attributions (.npz, one array per method)",
            interactive=False,
            height=72,
            elem_id="npz-file",
        )
        json_file = gr.File(
            label="Every parameter, library version and the weights (.json)",
            interactive=False,
            height=72,
            elem_id="json-file",
        )
    return Downloads(npz_file, json_file)


def then_download(
    explained: Any,
    parameters: list[gr.components.Component],
    last_result: gr.State,
    downloads: Downloads,
    concurrency: int,
    public: bool = False,
) -> None:
    """After a successful explanation: /download from the session's result (its own
    concurrency group, since the library's lock serializes any recomputation)."""
    explained.success(
        api.download_files,
        inputs=[*parameters, last_result],
        outputs=downloads.files,
        show_progress="hidden",
        concurrency_id="download",
        concurrency_limit=concurrency,
        **({"api_name": "download"} if public else {"api_visibility": "private"}),
        **RAW,
    )
