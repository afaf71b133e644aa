"""Two models side by side in the Explain tab: under the first model's gallery, a second row
with the same image explained by another model, for the same target (the class the first row
explains, so "predicted" means the first model's prediction for both) and the same settings.

Shown while "Compare with" names a model; computed after each explanation, and when the
choice changes. Page-only (the API's /explain takes one `model`; call it twice to compare).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from . import api
from .config import RAW, REQUEST
from .errors import user_errors
from .models import NO_COMPARISON, Models
from .views import second_row_heading


@dataclass
class ComparePanel:
    column: gr.Column
    heading: gr.Markdown
    gallery: gr.Gallery

    @property
    def outputs(self) -> list[Any]:
        return [self.column, self.heading, self.gallery]


def selector(models: Models) -> gr.Dropdown:
    """The "Compare with" choice: none, or any model (beside the model selector)."""
    return gr.Dropdown(
        choices=[("none", NO_COMPARISON), *models.choices()],
        value=NO_COMPARISON,
        label="Compare with",
        info="Optional: a second row of maps by another model, same image and target",
        elem_id="compare",
    )


def build() -> ComparePanel:
    """The second row, hidden until a model is chosen to compare with."""
    with gr.Column(visible=False, elem_id="second-model") as column:
        heading = gr.Markdown(elem_id="second-heading")
        gallery = gr.Gallery(
            label="The second model's maps",
            show_label=False,
            format="png",
            columns=5,
            height="auto",
            object_fit="contain",
            allow_preview=True,
            buttons=["download", "fullscreen"],
            elem_id="second-gallery",
        )
    return ComparePanel(column, heading, gallery)


def clear() -> tuple[Any, str, None]:
    """A new image: the second row's old result goes (the row stays as chosen)."""
    return gr.skip(), "", None


def second_row(*values: Any) -> tuple[Any, str, Any]:
    """The second model's row for the /explain parameters shown (`values`: the image, the
    parameters after it, the model to compare with, the first row's details)."""
    image, *request_values, other, details = values
    if other in (None, "", NO_COMPARISON):
        return gr.Column(visible=False), "", None
    if not details or image is None:
        return gr.Column(visible=True), "", None
    request = dict(zip(REQUEST, request_values, strict=True))
    # The first row's target as a class index; no trust scores (the first row has them).
    request.update(target=details["target"], model=other, trust_scores=False)
    with user_errors("explain the image with the second model"):
        result, truth = api.explanation(api.read_upload(image), request, True, None)
        name = api.backend().models.resolve(other)
        heading = second_row_heading(details, name, result.predicted_class, result.top(1)[0][1])
        return gr.Column(visible=True), heading, api.gallery_output(result, truth)


def _second_row_event(
    parameters: list[Any], compare: gr.Dropdown, details: gr.JSON, panel: ComparePanel
) -> dict[str, Any]:
    """What every event that redraws the second row passes to Gradio."""
    return {
        "fn": second_row,
        "inputs": [*parameters, compare, details],
        "outputs": panel.outputs,
        "show_progress": "minimal",
        "api_visibility": "private",
        "concurrency_id": "model",
        **RAW,
    }


def then_compare(
    explained: Any,
    parameters: list[Any],
    compare: gr.Dropdown,
    details: gr.JSON,
    panel: ComparePanel,
) -> None:
    """After each explanation of the first row: the second row, if one is chosen."""
    explained.success(**_second_row_event(parameters, compare, details, panel))


def wire(
    parameters: list[Any],
    compare: gr.Dropdown,
    details: gr.JSON,
    panel: ComparePanel,
    concurrency: int,
) -> None:
    """Choosing (or dropping) the model to compare with updates the second row."""
    compare.select(
        **_second_row_event(parameters, compare, details, panel),
        concurrency_limit=concurrency,
        trigger_mode="always_last",
    )
