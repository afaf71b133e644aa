"""The page's look: CSS keyed to the components' elem_ids, the theme, and the launch options
that carry them (Gradio 6 takes theme and CSS in `launch`, not in `Blocks`).
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from interpret.core.preprocess import MAX_FILE_BYTES

CSS = """
.gradio-container { max-width: 1320px !important; margin: 0 auto; }
#title h1 { margin-bottom: 0.2rem; }
#image .image-frame { width: 100%; height: 100%; }
#image .image-frame img { width: 100%; height: 100%; object-fit: contain;
  image-rendering: pixelated; }
#examples .table-wrap { border: none; overflow: visible; }
#examples thead { display: none; }
#examples tbody { display: grid; grid-template-columns: repeat(auto-fill, minmax(68px, 1fr));
  gap: 8px; }
#examples tbody tr { display: flex; flex-direction: column; align-items: center;
  border: 1px solid var(--border-color-primary) !important; border-radius: 8px; padding: 4px; }
#examples tbody td { display: block; padding: 0 !important; border: none !important;
  font-size: 0.8rem; }
#examples tbody td .container.table { width: 56px; height: 56px; border: none; }
#examples tbody td img { image-rendering: pixelated; }
#label [data-testid="block-label"] { position: static; margin-bottom: 6px; }
#summary table { font-size: 0.85rem; }
#summary code, #footer code { overflow-wrap: anywhere; }
#summary th, #summary td { padding: 4px 8px !important; }
#gallery .grid-wrap, #second-gallery .grid-wrap { min-height: 0 !important;
  max-height: none !important; overflow: visible; }
#gallery .thumbnail-item, #second-gallery .thumbnail-item { aspect-ratio: auto; height: auto;
  display: flex; flex-direction: column; }
#gallery .thumbnail-lg > img, #second-gallery .thumbnail-lg > img { height: auto;
  aspect-ratio: auto 256 / 330; }
#gallery .caption-label, #second-gallery .caption-label { position: static; max-width: 100%;
  white-space: normal; border: none; background: none; font-size: 0.8rem; padding: 4px 6px; }
#trust-note.note-warn, #trust-note.note-ok, #trust-note.note-pending { padding: 8px 12px;
  border-radius: 6px; }
#trust-note.note-pending { border-left: 4px solid #2563eb; background: rgba(37, 99, 235, 0.10); }
#trust-note.note-warn { border-left: 4px solid #d97706; background: rgba(245, 158, 11, 0.14); }
#trust-note.note-ok { border-left: 4px solid #16a34a; background: rgba(22, 163, 74, 0.10); }
#trust-help { font-size: 0.85rem; }
#trust-table { contain: inline-size; }  /* scroll inside on a phone, never widen the page */
#curves img, #agreement img { max-width: 100%; height: auto; margin: 0 auto; display: block; }
#testset-grid img, #strategy-members img { image-rendering: pixelated; }
#testset-grid .grid-wrap, #strategy-members .grid-wrap, #strategies .grid-wrap {
  min-height: 0 !important; max-height: none !important; overflow: visible; }
#testset-grid .thumbnail-item, #strategy-members .thumbnail-item, #strategies .thumbnail-item {
  aspect-ratio: auto; height: auto; display: flex; flex-direction: column; }
#testset-grid .thumbnail-item > img, #strategy-members .thumbnail-item > img {
  aspect-ratio: 1 / 1; height: auto; }
#strategies .grid-container { grid-template-columns: repeat(auto-fill, minmax(160px, 200px))
  !important; }
#strategies .thumbnail-item > img { height: auto; aspect-ratio: auto 256 / 300; }
#testset-grid .caption-label, #strategy-members .caption-label, #strategies .caption-label {
  position: static; max-width: 100%; white-space: normal; border: none; background: none;
  font-size: 0.72rem; padding: 2px 4px; }
#confusion { contain: inline-size; }  /* scroll inside on a phone, never widen the page */
#confusion table { font-size: 0.78rem; }
#confusion td, #confusion th { padding: 2px 4px !important; }
#confusion [role="gridcell"] { cursor: pointer; }
#testset-status { align-self: center; }
@media (max-width: 900px) {
  #gallery .grid-container, #second-gallery .grid-container {
    grid-template-columns: repeat(3, minmax(0, 1fr)) !important; }
  #testset-grid .grid-container { grid-template-columns: repeat(4, minmax(0, 1fr)) !important; }
}
@media (max-width: 640px) {
  #gallery .grid-container, #second-gallery .grid-container {
    grid-template-columns: repeat(2, minmax(0, 1fr)) !important; }
  #testset-grid .grid-container, #strategy-members .grid-container {
    grid-template-columns: repeat(3, minmax(0, 1fr)) !important; }
  #strategies .grid-container { grid-template-columns: repeat(2, minmax(0, 1fr)) !important; }
}
"""

THEME = gr.themes.Soft(
    primary_hue="indigo",
    font=["ui-sans-serif", "system-ui", "sans-serif"],  # system fonts: nothing fetched
    font_mono=["ui-monospace", "monospace"],
)


def launch_options() -> dict[str, Any]:
    """What `demo.launch` needs besides the address: look, upload limit, footer, and Gradio's
    MCP server at /gradio_api/mcp/ (its tools: ui/mcp_tools.py)."""
    return {
        "theme": THEME,
        "css": CSS,
        "max_file_size": MAX_FILE_BYTES,
        "footer_links": ["api", "settings"],
        "mcp_server": True,
    }
