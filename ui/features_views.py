"""The words and the bar chart of the learned-features view (no Gradio): how to read each
element (docs/FEATURES.md, "How to read it"), the sum beside F(x) - F(baseline), the note on
which images the windows come from, and the 16 signed bars as HTML (one element per bar, so a
browser test counts them)."""

from __future__ import annotations

import html
from typing import Any

READ_BARS = (
    "**Each bar** is how much one learned feature (a pool2 channel) moved the explained "
    "output from the baseline to this image: green pushed toward the target, red against. "
    "The bars add up to the total."
)
READ_SHARES = (
    "**Each map** is where in the image that feature's evidence lies; all use the whole "
    "Integrated Gradients map's color scale, so a weak feature looks weak."
)
READ_WINDOWS = (
    "**Each row of windows** is the part of the test images that most excites one feature "
    "(the row's channel, in the maps' order): what it has learned to detect. Click one to "
    "explain that image."
)
READ_ATLAS = (
    "**A row** is what a class relies on, **a column** which classes use a feature: each cell "
    "is the feature's mean contribution over the class's correctly classified test images "
    "(Integrated Gradients, baseline zeros, 50 steps, target the true class). Click a cell to "
    "list the images where that feature contributes most."
)


def sum_text(described: dict[str, Any]) -> str:
    """The contributions' sum beside what they explain, and IG's completeness error."""
    return (
        f"The 16 contributions add up to **{described['total']:+.4f}**; "
        f"F(x) − F(baseline) of {described['explained']} is "
        f"**{described['output_difference']:+.4f}**, a delta of {described['delta']:+.4f} "
        f"(Integrated Gradients' own error at {described['n_steps']} steps, baseline "
        f"{described['baseline']})."
    )


def windows_note(top_set: dict[str, Any] | None, loading: bool = False) -> str:
    """Which images the windows come from (the 20 bundled ones, or the set still loading)."""
    if loading:
        return "The test set is still loading (once per server start): the windows follow."
    if not top_set:
        return ""
    if top_set.get("full"):
        return f"The windows come from {top_set['name']}."
    return (
        f"The windows come from {top_set['name']} only (the full test set is not available "
        "on this server), so they say little of what a feature responds to."
    )


def bars_html(described: dict[str, Any]) -> str:
    """The 16 contributions as signed horizontal bars, largest |contribution| first."""
    channels = described["channels"]
    largest = max((abs(c["contribution"]) for c in channels), default=0.0) or 1.0
    rows = []
    for item in channels:
        value = item["contribution"]
        width = 50 * abs(value) / largest
        side = "left: 50%" if value >= 0 else f"left: {50 - width:.2f}%"
        color = "#2e9d4f" if value >= 0 else "#d1495b"
        rows.append(
            '<div class="feature-bar" style="display:flex;align-items:center;gap:8px;'
            'font-size:13px;line-height:18px">'
            f'<span style="width:6.5em;white-space:nowrap">channel {item["channel"]}</span>'
            '<span style="position:relative;flex:1;height:14px;'
            'border-left:1px solid #999;margin-left:0">'
            f'<span class="bar" style="position:absolute;{side};width:{width:.2f}%;'
            f'height:100%;background:{color}"></span></span>'
            f'<span style="width:5em;text-align:right">{value:+.3f}</span></div>'
        )
    title = html.escape(f"Each learned feature's contribution to {described['explained']}")
    return f'<div id="feature-bars-chart"><p><b>{title}</b></p>{"".join(rows)}</div>'


def request_text(described: dict[str, Any]) -> str:
    """What the panel shows, in one line: the explained output and the settings."""
    return (
        f"**{described['explained']}** by model `{described['model']}` (predicted: "
        f"{described['prediction']}), baseline {described['baseline']}, "
        f"{described['n_steps']} steps."
    )
