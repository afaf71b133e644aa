"""Deploy the app to a Hugging Face Space: exactly the files the Space runs, nothing else.

The Space gets: app.py, the ``interpret`` (without its ``testing`` toolkit, which only tests and
benchmarks import) and ``ui`` packages, ``weights/`` (with the training checkpoints TracIn
reads, ``weights/checkpoints/``), ``examples/``,
``requirements.txt``, ``README.md`` (its front matter configures the Space), ``.gitattributes``
and every local image the README shows (``docs/*.png``). No tests, scripts, CI files or caches.
``--dry-run DIR`` writes that tree into DIR and touches no network; ``python app.py`` started
there serves the app on its own. A real deploy creates the Space if needed (Gradio SDK), makes it
hold exactly that tree (files it holds beyond it are deleted), and prints its URL and the commit.
The README's front matter is checked first (sdk, sdk_version = the installed Gradio, app_file,
python_version, license, title, colors, short description). The token comes from ``HF_TOKEN`` or
``hf auth login``, never from the command line.

``--hardware`` asks the Hub for the Space's hardware, at creation and again after each upload:
``zero-a10g`` (ZeroGPU, the default: a GPU per request, free to host, each visitor's GPU time
counted against their daily quota; it needs the Space's owner on a PRO, Team or Enterprise plan
and a python_version ZeroGPU runs) or ``cpu-basic`` (two CPU cores, the free fallback; an
explanation takes about a second there). docs/ZEROGPU.md says how the app runs on ZeroGPU.

Example:
    python scripts/deploy_space.py captum-explorer/why-did-the-cnn-say-that --dry-run out/space
    python scripts/deploy_space.py captum-explorer/why-did-the-cnn-say-that
    python scripts/deploy_space.py captum-explorer/why-did-the-cnn-say-that --hardware cpu-basic
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import tempfile
from pathlib import Path, PurePosixPath

import gradio
from huggingface_hub import HfApi, get_token
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.repocard import metadata_load
from huggingface_hub.utils import filter_repo_objects

ROOT = Path(__file__).resolve().parents[1]
# What the Space runs (upload_folder's own pattern syntax: fnmatch, "*" crosses folders).
ALLOW_PATTERNS = [
    "app.py",
    "interpret/*",
    "ui/*",
    "weights/*",
    "examples/*",
    "requirements.txt",
    "README.md",
    ".gitattributes",
]
IGNORE_PATTERNS = [
    "interpret/testing/*",  # the exactness toolkit: tests and benchmarks use it, the app never
    "*__pycache__*",
    "*.pyc",
    "*.pyo",
    "*.pytest_cache*",
    "*.ruff_cache*",
    "*.hypothesis*",
    "*.egg-info*",
    "*.DS_Store",
    "*.swp",
    "*~",
]
SKIPPED_FOLDERS = {".git", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis"}
SPACE_COLORS = {"red", "yellow", "green", "blue", "indigo", "purple", "pink", "gray"}
SHORT_DESCRIPTION_MAX = 60  # the Hub refuses longer ones
# The hardware a deploy may ask for (huggingface_hub.SpaceHardware's values), the default first.
HARDWARE = {"zero-a10g": "ZeroGPU", "cpu-basic": "CPU Basic"}
# The Python versions ZeroGPU runs (Hugging Face lists 3.10.13 and 3.12.12).
ZEROGPU_PYTHON = ("3.10", "3.12")
# ZeroGPU runs only the torch releases it lists (2.8.0, 2.9.1, 2.10.0, 2.11.0); requirements.txt
# takes any torch >= 2.9, so pip on a Space would pick the newest. A ZeroGPU tree pins the newest
# listed pair instead.
ZEROGPU_TORCH = {"torch": "2.11.0", "torchvision": "0.26.0"}
SPACE_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")
# Markdown images ![alt](path "title") and HTML <img src="path">.
README_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)|<img\s[^>]*\bsrc=[\"']([^\"']+)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line: the Space id, and either --dry-run DIR or a real deploy."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("space_id", metavar="OWNER/NAME", help="the Space to create or update")
    parser.add_argument("--dry-run", type=Path, metavar="DIR", help="write the tree, no network")
    parser.add_argument("--private", action="store_true", help="create the Space as private")
    parser.add_argument("--commit-message", default="Deploy the app (scripts/deploy_space.py)")
    parser.add_argument(
        "--hardware",
        choices=list(HARDWARE),
        default=next(iter(HARDWARE)),
        help="zero-a10g: ZeroGPU (default; needs a PRO plan); cpu-basic: two CPU cores",
    )
    args = parser.parse_args(argv)
    if not SPACE_ID.match(args.space_id):
        parser.error(f"expected OWNER/NAME for the Space, got {args.space_id!r}")
    return args


def readme_images(readme: str) -> list[str]:
    """Local images the README shows, as paths relative to the project (URLs are left out)."""
    found = []
    for match in README_IMAGE.finditer(readme):
        target = (match.group(1) or match.group(2)).split("#")[0].split("?")[0]
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) or target.startswith("/"):
            continue  # http(s):, data:, or site-absolute: not a file of the Space
        found.append(PurePosixPath(os.path.normpath(target)).as_posix())
    return sorted(set(found))


def gradio_pin(requirements: Path) -> str | None:
    """The version requirements.txt pins Gradio to (``gradio==X``, ``gradio[mcp]==X``), if it
    pins one."""
    if not requirements.is_file():
        return None
    for line in requirements.read_text().splitlines():
        match = re.match(r"^\s*gradio\s*(?:\[[\w,\s-]*\])?\s*==\s*([\w.+-]+)", line.split("#")[0])
        if match:
            return match.group(1)
    return None


def front_matter_problems(root: Path) -> list[str]:
    """What in README.md's front matter would make the Space fail to build or mislead."""
    readme = root / "README.md"
    if not readme.is_file():
        return ["README.md is missing (its front matter configures the Space)"]
    meta = metadata_load(readme) or {}
    if not meta:
        return ["README.md has no front matter (a '---' YAML block at the top)"]
    problems = []
    installed = gradio.__version__
    if meta.get("sdk") != "gradio":
        problems.append(f"sdk must be gradio, found {meta.get('sdk')!r}")
    if str(meta.get("sdk_version")) != installed:
        problems.append(
            f"sdk_version must be the Gradio tested here ({installed}), "
            f"found {meta.get('sdk_version')!r}"
        )
    pinned = gradio_pin(root / "requirements.txt")
    if pinned is not None and pinned != str(meta.get("sdk_version")):
        problems.append(f"requirements.txt pins gradio=={pinned}, sdk_version says otherwise")
    app_file = meta.get("app_file")
    if not isinstance(app_file, str) or not (root / app_file).is_file():
        problems.append(f"app_file must name a file of the project, found {app_file!r}")
    elif not list(filter_repo_objects([app_file], allow_patterns=ALLOW_PATTERNS)):
        problems.append(f"app_file {app_file!r} is not among the files the Space gets")
    python = meta.get("python_version")
    if not (isinstance(python, str) and re.fullmatch(r"3\.\d{1,2}(\.\d+)?", python)):
        problems.append(
            f'python_version must be a quoted string such as "3.11", found {python!r} '
            "(unquoted, YAML reads 3.10 as the number 3.1)"
        )
    for key in ("title", "license"):
        if not meta.get(key):
            problems.append(f"{key} is missing")
    for key in ("colorFrom", "colorTo"):
        if meta.get(key) not in SPACE_COLORS:
            problems.append(f"{key} must be one of {sorted(SPACE_COLORS)}, found {meta.get(key)!r}")
    short = meta.get("short_description", "")
    if len(str(short)) > SHORT_DESCRIPTION_MAX:
        problems.append(f"short_description is {len(short)} characters, at most 60 allowed")
    return problems


def hardware_problems(root: Path, hardware: str) -> list[str]:
    """What in the front matter the chosen hardware cannot run."""
    python = (metadata_load(root / "README.md") or {}).get("python_version")
    supported = any(str(python) == v or str(python).startswith(v + ".") for v in ZEROGPU_PYTHON)
    if hardware == "zero-a10g" and not supported:
        return [
            f"python_version {python!r} is not one ZeroGPU runs ({' or '.join(ZEROGPU_PYTHON)}); "
            "set one, or deploy with --hardware cpu-basic"
        ]
    return []


def check_front_matter(root: Path) -> None:
    """Refuse to deploy, listing every problem, when the front matter is not right."""
    problems = front_matter_problems(root)
    if problems:
        lines = "\n".join(f"  - {problem}" for problem in problems)
        raise SystemExit(f"error: README.md front matter is not ready for a Space:\n{lines}")


def project_files(root: Path) -> list[str]:
    """Every file under `root`, relative and POSIX-style, without VCS folders and caches."""
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if name not in SKIPPED_FOLDERS)
        relative = Path(folder).relative_to(root)
        found += [(relative / name).as_posix() for name in files]
    return sorted(found)


def allow_patterns(root: Path) -> list[str]:
    """`ALLOW_PATTERNS` plus the README's images, each refused if the file is missing."""
    images = readme_images((root / "README.md").read_text())
    missing = [image for image in images if not (root / image).is_file()]
    if missing:
        raise SystemExit(f"error: README.md shows images that do not exist: {', '.join(missing)}")
    return ALLOW_PATTERNS + images


def space_files(root: Path) -> list[str]:
    """The files the Space gets, chosen as upload_folder chooses them (same patterns)."""
    patterns = allow_patterns(root)
    files = filter_repo_objects(
        project_files(root), allow_patterns=patterns, ignore_patterns=IGNORE_PATTERNS
    )
    return sorted(files)


def for_hardware(requirements: str, hardware: str) -> str:
    """requirements.txt as the Space on `hardware` needs it: on ZeroGPU, torch and
    torchvision pinned to a pair it runs; elsewhere unchanged."""
    if hardware != "zero-a10g":
        return requirements
    lines = []
    for line in requirements.splitlines():
        name = re.split(r"[<>=!~ \[;#]", line.strip(), maxsplit=1)[0]
        if name in ZEROGPU_TORCH:
            line = f"{name}=={ZEROGPU_TORCH[name]}  # the newest pair ZeroGPU runs"
        lines.append(line)
    return "\n".join(lines) + "\n"


def write_tree(root: Path, destination: Path, hardware: str = "zero-a10g") -> list[str]:
    """Copy the Space's files for `hardware` into `destination` (new or empty); returns their
    paths."""
    check_front_matter(root)
    files = space_files(root)
    if destination.exists() and any(destination.iterdir()):
        raise SystemExit(f"error: {destination} is not empty; choose a new folder")
    for name in files:
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)
    requirements = destination / "requirements.txt"
    if requirements.is_file():
        requirements.write_text(for_hardware(requirements.read_text(), hardware))
    return files


def deploy(
    root: Path, space_id: str, private: bool, message: str, hardware: str = "zero-a10g"
) -> tuple[str, str]:
    """Create the Space if needed, make it hold exactly the tree and ask for `hardware`;
    (Space URL, commit id)."""
    problems = hardware_problems(root, hardware)
    if problems:
        raise SystemExit(f"error: {problems[0]}")
    api = HfApi()
    with tempfile.TemporaryDirectory(prefix="space-") as staged:
        files = write_tree(root, Path(staged), hardware)
        url = api.create_repo(
            space_id,
            repo_type="space",
            space_sdk="gradio",
            space_hardware=hardware,  # a new Space starts on it; an existing one: see below
            private=private or None,  # None: the owner's default visibility
            exist_ok=True,
        )
        commit = api.upload_folder(
            repo_id=space_id,
            repo_type="space",
            folder_path=staged,
            allow_patterns=allow_patterns(Path(staged)),
            ignore_patterns=IGNORE_PATTERNS,
            delete_patterns=["*"],  # files beyond the tree go (the Hub keeps .gitattributes)
            commit_message=message,
        )
    print(f"uploaded {len(files)} files: {commit.commit_url}")
    try:
        runtime = api.request_space_hardware(space_id, hardware)
    except HfHubHTTPError as error:
        raise SystemExit(
            f"error: {space_id} holds the new files, but the Hub refused the hardware "
            f"{hardware} {refusal(error)}"
            + (
                "; ZeroGPU needs a PRO, Team or Enterprise plan, --hardware cpu-basic runs on any"
                if hardware == "zero-a10g"
                else ""
            )
        ) from None
    print(f"hardware: {runtime.requested_hardware or runtime.hardware} ({HARDWARE[hardware]})")
    return str(url), commit.oid


def refusal(error: HfHubHTTPError) -> str:
    """The Hub's reason, after its HTTP status: "(HTTP 403): ..."."""
    said = getattr(error, "server_message", None) or str(error).strip().splitlines()[0]
    status = error.response.status_code if error.response is not None else "?"
    return f"(HTTP {status}): {said}"


def main(argv: list[str] | None = None) -> None:
    """Dry run: write the tree. Otherwise deploy, then print the Space URL and the commit."""
    args = parse_args(argv)
    if args.dry_run is not None:
        files = write_tree(ROOT, args.dry_run, args.hardware)
        print(f"wrote {len(files)} files to {args.dry_run}:")
        print("\n".join(f"  {name}" for name in files))
        print(f"start it there: cd {args.dry_run} && python app.py")
        return
    if get_token() is None:
        raise SystemExit("error: no Hugging Face token: set HF_TOKEN or run `hf auth login`")
    try:
        url, oid = deploy(ROOT, args.space_id, args.private, args.commit_message, args.hardware)
    except HfHubHTTPError as error:
        raise SystemExit(
            f"error: the Hub refused the deploy of {args.space_id} {refusal(error)}"
        ) from None
    print(f"Space: {url}")
    print(f"commit: {oid}  (pin: {args.space_id}@{oid})")


if __name__ == "__main__":
    main()
