"""Links on the page (the reading and writing: ui/links.py): on each load, the view the
address's query names, already explained; and each tab's "Copy link" button.

One page-load event reads the link, sets the controls and, when the link asks for nothing
else, fills in the opening example (ui/first_visit.py: computed once, ahead), so a page
without a link waits for no more than before. A link's own image then goes down the Explain
tab's new-image chain (ui/explain_wiring.py) after a step that ends quietly for every other
page (`_stop`); `tab=testset` selects the tab, whose own opening chain (ui/testset_tab.py)
shows the matrix and the link's page. Every event here is private.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any, NoReturn

import gradio as gr

from interpret import CLASSES
from interpret.dataset.images import image_fingerprint
from interpret.influence import InfluenceUnavailable

from . import api, first_visit, links
from .config import FIRST_VISIT_EXAMPLE, INSTANT, PREDICTED, RAW, REQUEST
from .downloads import Downloads
from .explain_tab import ExplainTab, summarize
from .explain_wiring import Wiring
from .files import request_folder, save_pictures
from .influence_panel import load_training_image
from .testset_tab import TestSetTab, show_page
from .training_set import training_set
from .views import target_choices

log = logging.getLogger("interpret.app")

UPLOADED = (
    "The image itself can't travel in a link: this link gives the settings only, and opens "
    "them on the page's opening example. Share the image with it."
)
COPY_JS = """(query) => {
  const url = window.location.origin + window.location.pathname + (query ? "?" + query : "");
  if (navigator.clipboard) navigator.clipboard.writeText(url).catch(() => {});
  return url;
}"""
# The Explain tab's controls a link sets on load (the target follows with its image).
EXPLAIN_CONTROLS = tuple(name for name in (*REQUEST, "compare") if name != "target")


@dataclass
class LinkPanel:
    """A tab's "Copy link" button, the link it made, and what it says about it."""

    button: gr.Button
    link: gr.Textbox
    note: gr.Markdown


def panel(name: str) -> LinkPanel:
    """The button and its link, at the top of a tab (`name`: the tab's id)."""
    with gr.Row(equal_height=True, elem_id=f"{name}-link-row"):
        button = gr.Button(
            "Copy link", size="sm", scale=0, min_width=110, elem_id=f"{name}-copy-link"
        )
        link = gr.Textbox(
            show_label=False,
            container=False,
            interactive=False,
            visible=False,
            buttons=["copy"],
            scale=6,
            elem_id=f"{name}-link",
        )
    note = gr.Markdown(visible=False, elem_id=f"{name}-link-note")
    return LinkPanel(button, link, note)


def _stop() -> NoReturn:
    """End a step that this link does not need, and the steps after it, without a word."""
    raise gr.Error("not needed for this link", visible=False, print_exception=False)


def served(query: dict[str, str]) -> links.Served:
    """What this server offers a link; the test set (waited for) only when the link needs it."""
    backend = api.backend()
    models = backend.models
    found = links.Served(tuple(models.names()), models.default, len(backend.sampler.bundled))
    if links.needs_training_set(query):
        try:
            train = training_set()
            size, fingerprint, name = len(train), train.fingerprint, train.name
            found = replace(found, train_size=size, train_fingerprint=fingerprint, train_name=name)
        except InfluenceUnavailable:
            pass  # the link's index is ignored, and the page says why
    if not links.needs_test_set(query):
        return found
    data = api.test_set()
    return replace(found, set_size=len(data), set_fingerprint=data.fingerprint, set_name=data.name)


def shown_message(text: str) -> gr.Markdown:
    return gr.Markdown(text, visible=bool(text))


# ------------------------------------------------------------------ opening a link


def read(request: gr.Request | None) -> links.Opened:
    """The link the page was opened with; a link that cannot be read opens the default view."""
    query = dict(request.query_params) if request is not None else {}
    try:
        return links.parse(query, served(query))
    except Exception:
        log.exception("A link could not be read: %s", query)
        return links.Opened(ignored=("the link could not be read; the page opens as usual",))


def explain_updates(opened: links.Opened) -> list[Any]:
    """EXPLAIN_CONTROLS' values from the link (the others stay as the page opens)."""
    return [opened.explain.get(name, gr.skip()) for name in EXPLAIN_CONTROLS]


def testset_updates(opened: links.Opened) -> list[Any]:
    """The Test set tab's filters, which of them show (as `comparison_controls`), the tab."""
    if opened.tab != links.TESTSET:
        return [gr.skip()] * (len(TESTSET_CONTROLS) + 1)
    comparing = opened.testset.get("other", links.NO_MODEL) != links.NO_MODEL
    shown = {"which": comparing, **{name: not comparing for name in ONE_MODEL_FILTERS}}
    updates = []
    for name in TESTSET_CONTROLS:
        key = links.PAGE if name == "page" else name
        update = {"value": opened.testset[key]} if key in opened.testset else {}
        if name in shown:
            update["visible"] = shown[name]
        updates.append(gr.update(**update) if update else gr.skip())
    return [*updates, gr.Tabs(selected=links.TESTSET)]


TESTSET_CONTROLS = (
    "model",
    "other",
    "true_class",
    "predicted_class",
    "outcome",
    "which",
    "min_confidence",
    "max_confidence",
    "sort",
    "page",
)
ONE_MODEL_FILTERS = ("predicted_class", "outcome", "min_confidence", "max_confidence")


def open_link(request: gr.Request) -> tuple[Any, ...]:
    """On each page load: the link read, its message, and the controls it sets. Selecting
    the Test set tab fires its own opening chain (`testset_tab.wire`): the matrix and the
    page set here."""
    opened = checked_page(read(request))
    message = shown_message(links.message(opened))
    return opened, message, *explain_updates(opened), *testset_updates(opened)


def features_update(opened: links.Opened) -> Any:
    """The "Inside the network" panel opened when the link asks (opening it fires its expand
    event, which fills it for the image on the page, or waits for the link's explanation)."""
    return gr.Accordion(open=True) if opened.features else gr.skip()


def summarize_opening(opened: links.Opened | None, details: Any) -> tuple[Any, Any]:
    """The opening example's summary, when the page load showed it; nothing for another view
    (its own chain summarizes it)."""
    if opened is None or not opened.opens_default_explanation():
        return gr.skip(), gr.skip()
    return summarize(details)


def image_only(opened: links.Opened | None) -> None:
    """Go on to the link's image only when it shows another view than the opening one (a
    step without outputs, so that its quiet end marks no component)."""
    if opened is None or opened.opens_default_explanation():
        _stop()


def link_image(opened: links.Opened) -> tuple[Any, ...]:
    """The link's image (its example, its index, or the opening example under other settings)
    with its true label, source and index, and the target it asks for; the Explain tab's
    new-image chain takes it from there."""
    kind, number = opened.image or ("example", FIRST_VISIT_EXAMPLE)
    train_index = number if kind == "train" else None
    if kind == "train":
        path, label, source, _ = load_training_image(number)
        index = gr.skip()
    elif kind == "index":
        path, label, source, index = api.sample_image(number)
    else:
        bundled = api.backend().sampler.bundled
        (path,) = save_pictures([bundled.image(number)], request_folder("link-"))
        label, source, index = CLASSES[int(bundled.labels[number])], gr.skip(), number
    target = opened.explain.get("target", PREDICTED)
    choices = target_choices((CLASSES.index(label), ""))
    return path, label, source, index, gr.Dropdown(choices=choices, value=target), train_index


def checked_page(opened: links.Opened) -> links.Opened:
    """`opened` with its Test set page, if past the last page of its filters, ignored (page 1
    then, as the tab shows it: `testset_tab.kept_page`)."""
    page = opened.testset.get(links.PAGE, 1)
    if opened.tab != links.TESTSET or page == 1:
        return opened
    try:
        show_page(*testset_filters(opened), page)
        return opened
    except gr.Error as error:
        reason = str(getattr(error, "message", error)).split(": ", 1)[-1]
        ignored = (*opened.ignored, f"{links.shown(links.PAGE, str(page))}: {reason}")
        testset = {k: v for k, v in opened.testset.items() if k != links.PAGE}
        return replace(opened, testset=testset, ignored=ignored)


def testset_filters(opened: links.Opened) -> list[Any]:
    """The Test set tab's filters as the link sets them (`TestSetTab.filters`' order)."""
    readers = links.testset_readers(served({"tab": links.TESTSET}))
    return [opened.testset.get(name, readers[name][1]) for name in TESTSET_CONTROLS[:-1]]


def wire(
    blocks: gr.Blocks,
    message: gr.Markdown,
    tab: ExplainTab,
    details: gr.JSON,
    downloads: Downloads,
    chains: Wiring,
    testset: TestSetTab,
    tabs: gr.Tabs,
    opening: first_visit.FirstVisit | None,
    inside: gr.Accordion | None = None,
    train_index: gr.State | None = None,
) -> None:
    """On each page load: the link's view (else the opening example), explained. `opening`:
    None for a page that opens empty; `inside`: the "Inside the network" panel, which a link
    opens (its expand event fills it: `features_panel.wire`); `train_index`: where the Explain
    tab keeps the index of a training image it shows (a `split=train` link's)."""
    opened = gr.State()
    explain_controls = [getattr(tab, name) for name in EXPLAIN_CONTROLS]
    testset_controls = [getattr(testset, name) for name in TESTSET_CONTROLS]
    shown = first_visit.components(tab, details, downloads) if opening is not None else []

    def open_page(request: gr.Request) -> tuple[Any, ...]:
        """The link read, the controls it sets and, when it asks for nothing else, the
        opening example (computed once, ahead): one event, as fast as a page without links."""
        values = open_link(request)
        if inside is not None:
            values = (*values, features_update(values[0]))
        if opening is None:
            return values
        default = values[0].opens_default_explanation()
        return (*values, *(opening.outputs() if default else [gr.skip()] * len(shown)))

    panel = [] if inside is None else [inside]
    loaded = blocks.load(
        open_page,
        outputs=[opened, message, *explain_controls, *testset_controls, tabs, *panel, *shown],
        show_progress="hidden",
        api_visibility="private",
        concurrency_limit=None,  # instant, unless a link waits for the test set's load
    )
    if opening is not None:
        loaded.success(
            summarize_opening,
            inputs=[opened, details],
            outputs=[tab.summary, tab.label],
            **INSTANT,
        )
    # Queued, so that a step's quiet end reaches the page as an event, not an HTTP error.
    gate = {
        "inputs": opened,
        "show_progress": "hidden",
        "api_visibility": "private",
        "concurrency_limit": None,
    }
    chains.then_explain(
        loaded.success(image_only, **gate)
        .success(
            link_image,
            inputs=opened,
            outputs=[
                tab.image,
                tab.truth,
                tab.source,
                tab.index,
                tab.target,
                train_index if train_index is not None else gr.State(),
            ],
            show_progress="hidden",
            api_visibility="private",
            **RAW,
        )
        .success(**chains.new_image)
    )


# ------------------------------------------------------------------ copying a link


def _training_part(picture: Any, train_index: Any) -> dict[str, str]:
    """`split=train`, the index and the training set's id, when the page shows that image."""
    if not isinstance(train_index, int) or isinstance(train_index, bool):
        return {}
    try:
        data = training_set()
    except InfluenceUnavailable:
        return {}
    if not 0 <= train_index < len(data):
        return {}
    if image_fingerprint(data.image(train_index)) != image_fingerprint(picture):
        return {}
    set_id = data.fingerprint[: links.FINGERPRINT_CHARS]
    return {"split": links.TRAIN, "index": str(train_index), "set": set_id}


def _image_part(image: Any, index: Any, train_index: Any = None) -> tuple[dict[str, str], str]:
    """The query naming the image on the page, when a link can name it, and a note when not."""
    if image is None:
        return {}, "No image on the page: this link opens its settings on the opening example."
    try:
        picture = api.read_upload(image)
    except Exception:
        return {}, UPLOADED
    sampler = api.backend().sampler
    example = sampler.bundled_index(picture)
    if example is not None:
        return {"example": str(example)}, ""
    training = _training_part(picture, train_index)
    if training:
        return training, ""
    data = api.test_set()
    number = index if isinstance(index, (int, float)) and not isinstance(index, bool) else -1
    whole = number == int(number) and 0 <= number < len(data)
    if whole and image_fingerprint(data.image(int(number))) == image_fingerprint(picture):
        set_id = data.fingerprint[: links.FINGERPRINT_CHARS]
        return {"index": str(int(number)), "set": set_id}, ""
    return {}, UPLOADED


def explain_link(
    image: Any, *values: Any, train_index: Any = None
) -> tuple[gr.Textbox, gr.Markdown]:
    """The Explain tab's link (`values`: /explain's parameters after the image, then the
    model compared with, the index box and whether "Inside the network" is open;
    `train_index`: the training image the tab loaded, if any): its query, and a note."""
    *request, compare, index, features = values
    query, note = _image_part(image, index, train_index)
    named = dict(zip(REQUEST, request, strict=True))
    query.update({name: links.as_text(value) for name, value in named.items() if value is not None})
    if compare is not None:
        query["compare"] = links.as_text(compare)
    if features:
        query[links.FEATURES] = "1"
    return _written(query, note)


def explain_link_with_training(image: Any, *values: Any) -> tuple[gr.Textbox, gr.Markdown]:
    """`explain_link`, the training image's index last (the page's "Copy link")."""
    *values, train_index = values
    return explain_link(image, *values, train_index=train_index)


def testset_link(*values: Any) -> tuple[gr.Textbox, gr.Markdown]:
    """The Test set tab's link (`values`: its filters, then the page)."""
    *filters, page = values
    query = {"tab": links.TESTSET, links.PAGE: links.as_text(page)}
    query["set"] = served(query).set_id or ""
    names = TESTSET_CONTROLS[:-1]
    query.update(
        {n: links.as_text(v) for n, v in zip(names, filters, strict=True) if v is not None}
    )
    return _written(query, "")


def _written(query: dict[str, str], note: str) -> tuple[gr.Textbox, gr.Markdown]:
    """The link's query, checked as a link is read (so it reopens the same view), shown."""
    offered = served(query)
    opened = links.parse(query, offered)
    if opened.ignored:  # a control's value a link cannot carry: left out, and said
        note = " ".join([note, links.message(opened)]).strip()
    return gr.Textbox(links.query_string(opened, offered), visible=True), shown_message(note)


def wire_copy(panel: LinkPanel, inputs: list[Any], function: Any) -> None:
    """The button: the link made from `inputs`, shown, then copied by the browser."""
    panel.button.click(
        function,
        inputs=inputs,
        outputs=[panel.link, panel.note],
        show_progress="hidden",
        api_visibility="private",
        concurrency_limit=None,  # instant once the test set is loaded
        **RAW,
    ).then(
        None,
        inputs=panel.link,
        outputs=panel.link,
        js=COPY_JS,
        show_progress="hidden",
        api_visibility="private",
        queue=False,
    )
