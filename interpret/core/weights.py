"""Find, verify and load the weights for `Net`.

Resolution order (see `load_model`): an explicit source, else the Hub repo named by
``INTERPRET_MODEL_REPO`` (default `DEFAULT_REPO`), else the weights shipped in ``weights/``.
The Hub is probed with a short TCP connect first because huggingface_hub's own retries take
~23 s to give up when name resolution fails; a Space or laptop without network should start
in about a second on the shipped weights instead. Nothing fetched from the network is ever
unpickled: the Hub path downloads ``model.safetensors`` and ``config.json`` only.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import re
import socket
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

import torch
from huggingface_hub import constants as hub_constants
from huggingface_hub import errors as hub_errors
from huggingface_hub import snapshot_download
from huggingface_hub.errors import (
    GatedRepoError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.file_download import repo_folder_name
from safetensors import SafetensorError
from safetensors.torch import load_file

from interpret import settings
from interpret.core.devices import select_device
from interpret.core.model import CLASSES, Net

log = logging.getLogger("interpret")

DEFAULT_REPO = settings.DEFAULT_MODEL_REPO
PROJECT_ROOT = Path(__file__).resolve().parents[2]
SHIPPED_WEIGHTS = PROJECT_ROOT / "weights"
HUB_PROBE_TIMEOUT_S = 1.0
HUB_DOWNLOAD_DEADLINE_S = 10.0
HUB_FILES = ["config.json", "model.safetensors"]
# A cached snapshot missing files (huggingface_hub >= 2.3 tells it apart from no copy at all).
_INCOMPLETE_SNAPSHOT = getattr(hub_errors, "IncompleteSnapshotError", ())
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+(@[\w./-]+)?$")


class WeightsError(RuntimeError):
    """A weights source that cannot be used; the message names the file or repo."""


def sha256_of(path: Path) -> str:
    """Hex digest of a file, to tell exactly which shipped or local weights were used."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def hub_reachable(endpoint: str | None = None, timeout: float = HUB_PROBE_TIMEOUT_S) -> bool:
    """True when a TCP connection to the Hub endpoint opens within `timeout` seconds.

    Runs in a daemon thread because name resolution itself can hang past any socket timeout.
    """
    url = urlsplit(endpoint or hub_constants.ENDPOINT)
    host, port = url.hostname or "", url.port or (443 if url.scheme == "https" else 80)
    try:
        _within(timeout, lambda: socket.create_connection((host, port), timeout=timeout).close())
    except (OSError, TimeoutError):
        return False
    return True


def public_path(path: str | os.PathLike) -> str:
    """`path` as anyone may see it: relative to the project when inside it, else its name only.

    Weights descriptions reach the UI, the API's details, downloaded JSON and model cards; the
    server's directories must not. ``..`` is normalized first, so it cannot climb out unseen.
    """
    absolute = Path(os.path.abspath(Path(path).expanduser()))
    try:
        return absolute.relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return absolute.name


def _describe_file(kind: str, path: Path) -> str:
    """'kind:weights/model.safetensors (sha256 …)': where it is said publicly, and what it is."""
    return f"{kind}:{public_path(path)} (sha256 {sha256_of(path)[:16]})"


def _load_safetensors(path: Path) -> Net:
    """Load a bare .safetensors state dict, naming the file in every failure."""
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as error:
        raise WeightsError(f"{path}: not a readable safetensors file ({error})") from error
    return _net_from_state(state, path)


def _load_state_dict_file(path: Path) -> Net:
    """Load a Captum-style pickled state dict with weights_only=True (no code execution)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a bad pickle
        raise WeightsError(f"{path}: not a loadable state dict ({error})") from error
    if not isinstance(state, dict):
        raise WeightsError(f"{path}: expected a state dict, found {type(state).__name__}")
    return _net_from_state(state, path)


def _net_from_state(state: dict, origin: Path | str) -> Net:
    net = Net()
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as error:
        first_line = str(error).strip().splitlines()[0]
        raise WeightsError(f"{origin}: weights do not fit Net ({first_line})") from error
    return net.eval()


def _require_cifar_classes(net: Net, origin: Path) -> Net:
    """A consistent snapshot of another head size is still not a CIFAR-10 classifier."""
    if net.fc3.out_features != len(CLASSES):
        raise WeightsError(
            f"{origin}: weights do not fit Net (expected {len(CLASSES)} classes, "
            f"found {net.fc3.out_features})"
        )
    return net


def _load_pretrained_dir(directory: Path) -> Net:
    """Load save_pretrained output (config.json + model.safetensors) through the Hub mixin."""
    model_file = directory / "model.safetensors"
    if not model_file.is_file():
        raise WeightsError(f"{model_file}: missing (expected save_pretrained layout)")
    try:
        # The mixin prints "Loading weights from local directory"; keep stdout clean for the CLI.
        with contextlib.redirect_stdout(io.StringIO()):
            net = Net.from_pretrained(directory, strict=True).eval()
    except (SafetensorError, OSError, ValueError) as error:
        raise WeightsError(f"{model_file}: not a readable safetensors file ({error})") from error
    except RuntimeError as error:
        first_line = str(error).strip().splitlines()[0]
        raise WeightsError(f"{model_file}: weights do not fit Net ({first_line})") from error
    return _require_cifar_classes(net, model_file)


def _load_local(path: Path) -> tuple[Net, str]:
    if path.is_dir():
        return _load_pretrained_dir(path), _describe_file("dir", path / "model.safetensors")
    if path.suffix == ".safetensors":
        return _load_safetensors(path), _describe_file("file", path)
    return _load_state_dict_file(path), _describe_file("file", path)


def split_repo_revision(spec: str) -> tuple[str, str | None]:
    """'owner/name@rev' -> ('owner/name', 'rev'); a bare repo id has no revision."""
    repo_id, _, revision = spec.partition("@")
    return repo_id, revision or None


def _cache_problem(repo_id: str) -> str | None:
    """Why huggingface_hub could not download `repo_id` into its cache, if it could not.

    A download writes a lock in ``.locks/<repo folder>`` and a blob in ``<repo folder>/blobs``;
    where either fails (a read-only volume, a file where a folder should be) a download would
    fail after the Hub answered, so the cache is used as it is. The probe's folders are removed.
    """
    cache = Path(hub_constants.HF_HUB_CACHE)
    folder = repo_folder_name(repo_id=repo_id, repo_type="model")
    for directory in (cache / ".locks" / folder, cache / folder / "blobs"):
        made = [parent for parent in (directory, *directory.parents) if not parent.exists()]
        try:
            directory.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=directory):
                pass
        except OSError as error:
            return f"cache {cache} not writable ({error.strerror or error}: {directory})"
        finally:
            for parent in made:  # innermost first
                with contextlib.suppress(OSError):
                    parent.rmdir()
    return None


def _why_not_ask_the_hub(repo_id: str) -> str | None:
    """The reason to look in the cache only, if there is one, in the words a log line needs."""
    if hub_constants.HF_HUB_OFFLINE:
        return "HF_HUB_OFFLINE is set and there is no cached copy"
    cache_problem = _cache_problem(repo_id)
    if cache_problem:
        return f"{cache_problem}, and it holds no copy"
    if not hub_reachable():
        return f"Hub unreachable ({hub_constants.ENDPOINT}) and no cached copy"
    return None


def _what_the_hub_said(error: BaseException) -> str:
    """A failed look-up or download, in plain words (huggingface_hub's own are several lines)."""
    endpoint = hub_constants.ENDPOINT
    if isinstance(error, TimeoutError):
        return f"no answer from the Hub ({endpoint}) within {HUB_DOWNLOAD_DEADLINE_S:g} s"
    if isinstance(error, GatedRepoError):
        return f"gated repository on the Hub ({endpoint}): accept its terms and set HF_TOKEN"
    if isinstance(error, RepositoryNotFoundError):
        return f"repository not found on the Hub ({endpoint}; a private one needs HF_TOKEN)"
    if isinstance(error, RevisionNotFoundError):
        return f"revision not found on the Hub ({endpoint})"
    first_line = (str(error).strip().splitlines() or [""])[0]
    return f"{type(error).__name__}: {first_line}"


def _within(seconds: float, function, *args, **kwargs):
    """Run `function` in a daemon thread; TimeoutError if it has not returned in time.

    huggingface_hub retries a failing download for ~23 s; the app should not wait that long
    before falling back to the shipped weights.
    """
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = function(*args, **kwargs)
        except BaseException as error:  # handed to the caller below
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError(f"no answer within {seconds:.0f} s")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]


def hub_snapshot(
    repo_id: str, revision: str | None, patterns: list[str], *, download: bool = True
) -> Path:
    """The folder of a Hub repo's files matching `patterns`: from the Hub's cache, or
    downloaded when `download` and the Hub answers, within HUB_DOWNLOAD_DEADLINE_S.
    WeightsError, in plain words, when they cannot be had."""
    cache_only = _why_not_ask_the_hub(repo_id) if download else "no cached copy"
    try:
        return Path(
            _within(
                HUB_DOWNLOAD_DEADLINE_S,
                snapshot_download,
                repo_id,
                revision=revision,
                allow_patterns=patterns,
                local_files_only=cache_only is not None,
                etag_timeout=5,
            )
        )
    except Exception as error:  # network, auth, missing repo/revision, read-only cache...
        no_copy = isinstance(error, LocalEntryNotFoundError) and not isinstance(
            error, _INCOMPLETE_SNAPSHOT
        )
        reason = cache_only if cache_only and no_copy else _what_the_hub_said(error)
        raise WeightsError(f"hub:{repo_id}@{revision or 'main'}: {reason}") from error


def _load_hub(repo_id: str, revision: str | None) -> tuple[Net, str]:
    """Download (or reuse the cached) safetensors snapshot of a Hub repo and load it."""
    folder = hub_snapshot(repo_id, revision, HUB_FILES)
    net = _load_pretrained_dir(folder)
    digest = sha256_of(folder / "model.safetensors")[:16]
    return net, f"hub:{repo_id}@{folder.name} (sha256 {digest})"


def _resolve_explicit(source: str | os.PathLike) -> tuple[Net, str]:
    path = Path(source).expanduser()
    if path.exists():
        return _load_local(path)
    text = str(source)
    if _REPO_ID.match(text) and not text.endswith((".pt", ".pth", ".safetensors", ".bin")):
        return _load_hub(*split_repo_revision(text))
    raise WeightsError(f"{text}: no such file or directory, and not a Hub repo id")


def _resolve_default() -> tuple[Net, str]:
    """The configured Hub repo, else the shipped weights; says once why it fell back."""
    configured = settings.read()
    repo_id, revision = configured.model_repo, configured.model_revision
    if repo_id:
        try:
            return _load_hub(repo_id, revision)
        except WeightsError as error:
            log.warning("Using the shipped weights in %s: %s", SHIPPED_WEIGHTS, error)
    try:
        net = _load_pretrained_dir(SHIPPED_WEIGHTS)
    except WeightsError as error:
        raise WeightsError(f"shipped weights unusable: {error}") from error
    return net, _describe_file("shipped", SHIPPED_WEIGHTS / "model.safetensors")


def load_model(
    source: str | os.PathLike | None = None,
    device: str | torch.device | None = None,
) -> Net:
    """Load `Net` in eval mode on `device`, recording where it came from in `net.weights_source`
    (see `_describe_file`: no server directory, always the sha256).

    `source` may be a save_pretrained directory, a ``.safetensors`` file, a Captum-style ``.pt``
    state dict, or a Hub repo id with optional ``@revision``. An explicit source that fails
    raises `WeightsError`; the default Hub repo falls back to the shipped weights.
    """
    net, description = _resolve_default() if source is None else _resolve_explicit(source)
    if source is None:
        local = SHIPPED_WEIGHTS if description.startswith("shipped:") else None
    else:
        local = Path(source).expanduser() if Path(source).expanduser().exists() else None
    where = f" (read from {local.resolve()})" if local is not None else ""
    log.info("Weights in use: %s%s", description, where)  # the full path goes to the log only
    net = net.to(select_device(device))
    net.weights_source = description
    for parameter in net.parameters():
        parameter.requires_grad_(False)
    return net
