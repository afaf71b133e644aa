"""Links that reproduce a view: a page address's query parameters read into the view they name,
and a view written back as query parameters. The link is the whole state: nothing is stored.

Parameters are named as the API names them (docs/LINKS.md lists them). Every value is checked
here, with the library's own checks where it has them; a value that cannot be used is left at
its default and named in `Opened.ignored`, in words for the page. An index means an image of
one set only, so a link carries the set's fingerprint (`set=`, its first FINGERPRINT_CHARS hex
digits) and an index made on another set is not shown as if it were the same image.

No Gradio here: the page's events (ui/link_wiring.py) call these functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from interpret import CLASSES, DEFAULT_METHODS, METHODS
from interpret.core.params import ParamError, check_for_methods, make_params
from interpret.dataset.browse import ANY, DISAGREEMENT_OUTCOMES, OUTCOMES, SORTS

from .config import (
    DEFAULT_OPACITY,
    DEFAULTS,
    FIRST_VISIT_EXAMPLE,
    NO_CONTRAST,
    PREDICTED,
    TRUE_LABEL,
)

EXPLAIN, TESTSET = "explain", "testset"  # the tabs' ids (ui/page.py)
TABS = (EXPLAIN, TESTSET)
# 16 hex digits = 64 bits: two different sets share a prefix with probability 2^-64 per pair;
# a server knows a handful of sets, so a link cannot name the wrong one by accident.
FINGERPRINT_CHARS = 16
NO_MODEL = "none"
# The Test set tab's page: not `page`, which Gradio's own route takes (a multipage app's page).
PAGE = "page_number"
SHOWN_CHARS = 40  # of an ignored value, in the message
# Set by Gradio or by Hugging Face's Space page, not by the app's links: passed over quietly.
FOREIGN = ("view",)
FEATURES = "features"  # the Explain tab's "Inside the network" panel, open
TEST, TRAIN = "test", "train"  # `split=`: which set a link's index is of (the test set's if none)
SPLITS = (TEST, TRAIN)


class LinkValueError(ValueError):
    """A link's value that cannot be used; the message says why, for the page."""


@dataclass(frozen=True)
class Served:
    """What this server offers that a link may name: its models, the bundled examples and,
    when a link needs it, the test set it browses (size, full fingerprint, name)."""

    models: tuple[str, ...]
    default_model: str
    examples: int
    set_size: int | None = None
    set_fingerprint: str | None = None
    set_name: str = ""
    train_size: int | None = None  # the training split, when a link needs it
    train_fingerprint: str | None = None
    train_name: str = ""

    @property
    def set_id(self) -> str | None:
        return None if self.set_fingerprint is None else self.set_fingerprint[:FINGERPRINT_CHARS]

    @property
    def train_id(self) -> str | None:
        found = self.train_fingerprint
        return None if found is None else found[:FINGERPRINT_CHARS]


@dataclass(frozen=True)
class Opened:
    """A link, read: the tab, the image (a bundled example or a test-set index), the Explain
    tab's settings, the Test set tab's filters and page, and what was ignored or noted."""

    tab: str = EXPLAIN
    example: int | None = None
    index: int | None = None
    set_id: str | None = None
    explain: dict[str, Any] = field(default_factory=dict)
    testset: dict[str, Any] = field(default_factory=dict)
    ignored: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    split: str = TEST

    @property
    def image(self) -> tuple[str, int] | None:
        """("example", n), ("index", n) or ("train", n) (a training image), or None: the
        page's own opening example."""
        if self.example is not None:
            return ("example", self.example)
        if self.index is not None:
            return ("train" if self.split == TRAIN else "index", self.index)
        return None

    def opens_default_explanation(self) -> bool:
        """Whether the Explain tab shows what every page opens with (computed once, ahead);
        the features panel opened on it does not change it."""
        settings = [name for name in self.explain if name != FEATURES]
        return not settings and self.image in (None, ("example", FIRST_VISIT_EXAMPLE))

    @property
    def features(self) -> bool:
        """Whether the link opens "Inside the network" (filled for its image)."""
        return bool(self.explain.get(FEATURES))


# ------------------------------------------------------------------ reading one value


def _whole(text: str, low: int, high: int | None = None) -> int:
    try:
        number = float(text)
    except ValueError:
        raise LinkValueError("not a whole number") from None
    if not math.isfinite(number) or number != int(number):
        raise LinkValueError("not a whole number")
    if number < low or (high is not None and number > high):
        bound = f"between {low:,} and {high:,}" if high is not None else f"at least {low}"
        raise LinkValueError(f"out of range: must be {bound}")
    return int(number)


def _fraction(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise LinkValueError("not a number") from None
    if not math.isfinite(number) or not 0.0 <= number <= 1.0:
        raise LinkValueError("out of range: must be between 0 and 1")
    return number


def _choice(text: str, choices: tuple[str, ...] | list[str]) -> str:
    value = text.strip().lower()
    if value not in choices:
        raise LinkValueError(f"unknown; choose one of {', '.join(choices)}")
    return value


def _class(text: str, *extra: str) -> str:
    """A class name (any case) or index 0-9, as its name; or one of `extra`."""
    value = text.strip().lower()
    if value in extra or value in CLASSES:
        return value
    if value.isascii() and value.isdecimal() and int(value) < len(CLASSES):
        return CLASSES[int(value)]
    raise LinkValueError(f"unknown class; choose {', '.join(extra)} or one of {', '.join(CLASSES)}")


def _methods(text: str) -> list[str]:
    keys = [key.strip() for key in text.split(",") if key.strip()]
    unknown = [key for key in keys if key not in METHODS]
    if unknown or not keys:
        raise LinkValueError(f"choose among {', '.join(METHODS)}, separated by commas")
    return list(dict.fromkeys(keys))


def _flag(text: str) -> bool:
    value = text.strip().lower()
    if value not in ("1", "0", "true", "false"):
        raise LinkValueError("must be 1 or 0")
    return value in ("1", "true")


def _setting(name: str) -> Callable[[str], Any]:
    """An attribution setting, checked by the library (`interpret.core.params`), whose
    message repeats the value: only a value of letters, digits and signs gets that far."""

    def read(text: str) -> Any:
        if not text or not all(c.isascii() and (c.isalnum() or c in ".+-") for c in text):
            raise LinkValueError("not a value this setting takes")
        try:
            return getattr(make_params(**{name: text}), name)
        except ParamError as error:
            raise LinkValueError(str(error).removeprefix(f"{name} ")) from None

    return read


def _model(served: Served, *extra: str) -> Callable[[str], str]:
    def read(text: str) -> str:
        if text in served.models or text in extra:
            return text
        raise LinkValueError(f"no such model here; choose one of {', '.join(served.models)}")

    return read


def explain_readers(served: Served) -> dict[str, tuple[Callable[[str], Any], Any]]:
    """The Explain tab's parameters: name -> (reader, default), in /explain's order."""
    readers = {
        "methods": (_methods, list(DEFAULT_METHODS)),
        "target": (lambda text: _class(text, PREDICTED, TRUE_LABEL), PREDICTED),
        **{name: (_setting(name), getattr(DEFAULTS, name)) for name in _SETTINGS},
        "opacity": (_fraction, DEFAULT_OPACITY),
        "contrast": (lambda text: _class(text, NO_CONTRAST), NO_CONTRAST),
        "trust_scores": (_flag, False),
        **{name: (_setting(name), getattr(DEFAULTS, name)) for name in _OCCLUSION},
        "model": (_model(served), served.default_model),
        "compare": (_model(served, NO_MODEL), NO_MODEL),
        FEATURES: (_flag, False),  # "Inside the network" open, and filled
    }
    return readers


def testset_readers(served: Served) -> dict[str, tuple[Callable[[str], Any], Any]]:
    """The Test set tab's parameters: name -> (reader, default), in the tab's order."""
    return {
        "model": (_model(served), served.default_model),
        "other": (_model(served, NO_MODEL), NO_MODEL),
        "true_class": (lambda text: _class(text, ANY), ANY),
        "predicted_class": (lambda text: _class(text, ANY), ANY),
        "outcome": (lambda text: _choice(text, OUTCOMES), OUTCOMES[0]),
        "which": (lambda text: _choice(text, DISAGREEMENT_OUTCOMES), DISAGREEMENT_OUTCOMES[0]),
        "min_confidence": (_fraction, 0.0),
        "max_confidence": (_fraction, 1.0),
        "sort": (lambda text: _choice(text, SORTS), SORTS[0]),
        PAGE: (lambda text: _whole(text, 1), 1),
    }


_SETTINGS = ("n_steps", "nt_samples", "stdevs", "baseline", "seed")
_OCCLUSION = ("occlusion_window", "occlusion_stride")
IMAGE_PARAMETERS = ("tab", "example", "index", "set", "split")


def known_parameters(served: Served) -> list[str]:
    return list(
        dict.fromkeys([*IMAGE_PARAMETERS, *explain_readers(served), *testset_readers(served)])
    )


def _plain(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, without a backquote or a control character, so it
    stays inside the message's code span: no Markdown (a link, a picture) of the link's own."""
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return "".join(c if c.isprintable() and c != "`" else "?" for c in text)


def shown(name: str, value: str) -> str:
    """`name=value` as the page names it: cut short, no Markdown of the link's own."""
    return f"`{_plain(name, SHOWN_CHARS // 2)}={_plain(value, SHOWN_CHARS)}`"


# ------------------------------------------------------------------ reading a link


def needs_test_set(query: Mapping[str, str]) -> bool:
    """Whether reading `query` needs the served test set (an index, or the Test set tab)."""
    return "index" in query or "set" in query or query.get("tab", "").strip().lower() == TESTSET


def needs_training_set(query: Mapping[str, str]) -> bool:
    """Whether reading `query` needs the served training split (an index of it)."""
    return query.get("split", "").strip().lower() == TRAIN


class _Reader:
    def __init__(self, query: Mapping[str, str], served: Served) -> None:
        self.query, self.served = query, served
        self.ignored: list[str] = []
        self.notes: list[str] = []

    def ignore(self, name: str, reason: str) -> None:
        self.ignored.append(f"{shown(name, self.query[name])}: {reason}")

    def read(self, name: str, reader: Callable[[str], Any]) -> Any:
        try:
            return reader(self.query[name])
        except LinkValueError as error:
            self.ignore(name, str(error))
            return None

    def values(self, readers: Mapping[str, tuple[Callable[[str], Any], Any]]) -> dict[str, Any]:
        """Each given value that can be used and is not its default."""
        found = {}
        for name, (reader, default) in readers.items():
            if name in self.query:
                value = self.read(name, reader)
                if value is not None and value != default:
                    found[name] = value
        return found


def parse(query: Mapping[str, str], served: Served) -> Opened:
    """The view a link's query parameters name (`needs_test_set`: when `served` must describe
    the test set). Never raises: what cannot be used is ignored and named."""
    reader = _Reader(query, served)
    for name in query:
        if (
            name not in known_parameters(served)
            and not name.startswith("__")
            and name not in FOREIGN
        ):
            known = ", ".join(known_parameters(served))
            reader.ignored.append(
                f"{shown(name, query[name])}: not a link parameter; known: {known}"
            )
    tab = EXPLAIN
    if "tab" in query:
        tab = reader.read("tab", lambda text: _choice(text, TABS)) or EXPLAIN
    example = index = set_id = None
    split = TEST
    if "example" in query:
        example = reader.read("example", lambda text: _whole(text, 0, served.examples - 1))
    if "split" in query:
        split = reader.read("split", lambda text: _choice(text, SPLITS)) or TEST
        if split == TRAIN and "index" not in query:
            reader.ignore("split", "names the training set, but the link has no index")
            split = TEST
    if "set" in query:
        set_id = reader.read("set", _set_id)
    if "index" in query:
        index = _index(reader, example, set_id) if split == TEST else _train_index(reader, set_id)
    readers = explain_readers(served)
    if tab == TESTSET:
        del readers["model"]  # `model` names the Test set tab's model there
    explain = reader.values(readers)
    _check_combinations(reader, explain)
    testset = {}
    if tab == TESTSET:
        testset = reader.values(testset_readers(served))
        _check_confidence(reader, testset)
        if set_id is not None and index is None and set_id != served.set_id:
            reader.notes.append(
                _other_set(served, set_id, "the same filters may list other images")
            )
    else:
        for name in testset_readers(served):
            if name in query and name not in explain_readers(served):
                reader.ignore(name, "a Test set filter: add tab=testset")
    if set_id is not None and "index" not in query and tab != TESTSET:
        reader.ignore("set", "names a test set, but the link has no index")
    split = TRAIN if split == TRAIN and index is not None else TEST
    ignored, notes = tuple(reader.ignored), tuple(reader.notes)
    return Opened(tab, example, index, set_id, explain, testset, ignored, notes, split)


def _set_id(text: str) -> str:
    value = text.strip().lower()
    if len(value) != FINGERPRINT_CHARS or any(c not in "0123456789abcdef" for c in value):
        raise LinkValueError(f"not a test set's fingerprint ({FINGERPRINT_CHARS} hex digits)")
    return value


def _other_set(served: Served, set_id: str, consequence: str) -> str:
    here = f"{served.set_name} (set={served.set_id})" if served.set_id else "no test set"
    return (
        f"This link was made on another test set (set={set_id}); this server has {here}: "
        f"{consequence}."
    )


def _index(reader: _Reader, example: int | None, set_id: str | None) -> int | None:
    served = reader.served
    if example is not None:
        reader.ignore("index", "the link names an example too; the example is shown")
        return None
    if set_id is not None and set_id != served.set_id:
        reader.ignore(
            "index",
            _other_set(
                served, set_id, "its image of that index is a different one, so it is not shown"
            ),
        )
        return None
    if not served.set_size:
        reader.ignore("index", "this server has no test set to take it from")
        return None
    return reader.read("index", lambda text: _whole(text, 0, served.set_size - 1))


def _train_index(reader: _Reader, set_id: str | None) -> int | None:
    """A training image's index (`split=train`): of this server's training split only."""
    served = reader.served
    if example := reader.query.get("example"):
        reader.ignore("index", f"the link names example {_plain(example, 8)} too; it is shown")
        return None
    if not served.train_size:
        reader.ignore("index", "this server has no training set to take it from")
        return None
    if set_id is not None and set_id != served.train_id:
        reader.ignore(
            "index",
            f"this link was made on another training set (set={set_id}); this server has "
            f"{served.train_name} (set={served.train_id}), whose image of that index is a "
            "different one, so it is not shown",
        )
        return None
    return reader.read("index", lambda text: _whole(text, 0, served.train_size - 1))


def _check_combinations(reader: _Reader, explain: dict[str, Any]) -> None:
    """What the library refuses of values together: too many IG + SmoothGrad² rows, an
    Occlusion stride above its window, a contrast equal to the target."""
    methods = explain.get("methods", list(DEFAULT_METHODS))
    for pair in (("n_steps", "nt_samples"), ("occlusion_window", "occlusion_stride")):
        values = {name: explain[name] for name in pair if name in explain}
        try:
            check_for_methods(make_params(**values), methods)
        except ParamError as error:
            for name in values:
                reader.ignore(name, str(error))
                del explain[name]
    contrast, target = explain.get("contrast"), explain.get("target")
    if contrast is not None and contrast == target:
        reader.ignore("contrast", "the same class as the target; choose another")
        del explain["contrast"]


def _check_confidence(reader: _Reader, testset: dict[str, Any]) -> None:
    low, high = testset.get("min_confidence", 0.0), testset.get("max_confidence", 1.0)
    if low > high:
        for name in ("min_confidence", "max_confidence"):
            if name in testset:
                reader.ignore(name, f"the range is empty: {low:g} is above {high:g}")
                del testset[name]


# ------------------------------------------------------------------ writing a link


def as_text(value: Any) -> str:
    """A control's value as a link writes it."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list):
        return ",".join(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def query_string(opened: Opened, served: Served) -> str:
    """The link's query (no leading "?") for `opened`: only what differs from the defaults,
    in a fixed order; `parse` reads it back to the same view."""
    pairs: list[tuple[str, Any]] = []
    if opened.tab != EXPLAIN:
        pairs.append(("tab", opened.tab))
    if opened.example is not None:
        pairs.append(("example", opened.example))
    if opened.split == TRAIN and opened.index is not None:
        pairs.append(("split", TRAIN))
    if opened.index is not None or (opened.tab == TESTSET and opened.set_id is not None):
        pairs.append(("set", opened.set_id))
    if opened.index is not None:
        pairs.append(("index", opened.index))
    explain_names = [name for name in explain_readers(served) if name in opened.explain]
    pairs += [(name, opened.explain[name]) for name in explain_names]
    pairs += [
        (name, opened.testset[name]) for name in testset_readers(served) if name in opened.testset
    ]
    return "&".join(f"{name}={quote(as_text(value), safe=',')}" for name, value in pairs)


def message(opened: Opened) -> str:
    """What the page says about a link it opened: each ignored value, and any note; empty
    when every value was used."""
    lines = list(opened.notes)
    if opened.ignored:
        lines.append(
            "**Some of this link's values were ignored**; the page uses their defaults instead:\n"
            + "\n".join(f"- {reason}" for reason in opened.ignored)
        )
    return "\n\n".join(lines)
