"""The documentation builds, its links resolve, and what it names exists."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import get_commands
from django.urls import Resolver404, resolve
from markdown.extensions.toc import slugify

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
# Everything a reader is sent to: the site's pages and the files beside it.
MARKDOWN = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "bench/README.md"]
MARKDOWN += PAGES

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
MANAGE_COMMAND = re.compile(r"manage\.py\s+([a-z_]+)")
MAKE_TARGET = re.compile(r"\bmake\s+([a-z][a-z-]*)\b")
MAKEFILE_TARGET = re.compile(r"^([a-zA-Z][\w-]*):", re.MULTILINE)
API_PATH = re.compile(r"/api/v1/[^\s`\"'<>)\]]*")


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _anchors(path: Path) -> set[str]:
    """The heading ids MkDocs gives a page (the toc extension's default slugs)."""
    text = FENCE.sub("", _text(path))
    headings = re.findall(r"^#{1,6}\s+(.+?)\s*$", text, re.MULTILINE)
    return {slugify(re.sub(r"[`*]", "", heading), "-") for heading in headings}


def test_mkdocs_builds_strictly(tmp_path):
    # given: the site's configuration and pages
    # when: MkDocs builds it in strict mode (broken links and anchors are errors)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(ROOT / "mkdocs.yml"),
            "--site-dir",
            str(tmp_path / "site"),
        ],
        capture_output=True,
        text=True,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    # then: it succeeds and every page of docs/ became a page of the site
    assert result.returncode == 0, result.stderr[-3000:]
    for page in PAGES:
        built = "index.html" if page.stem == "index" else f"{page.stem}/index.html"
        assert (tmp_path / "site" / built).exists(), page.name


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda path: str(path.relative_to(ROOT)))
def test_relative_links_point_inside_the_repository(path):
    # given: every relative link of the page, outside code blocks
    broken = []
    for target in LINK.findall(FENCE.sub("", _text(path))):
        if re.match(r"^[a-z]+:", target):
            continue  # http(s), mailto: not ours to check offline
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        # then: it names a file of the repository, and an existing heading
        if ROOT not in resolved.parents or not resolved.exists():
            broken.append(target)
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(target)
    assert not broken, f"{path.name}: {broken}"


def test_no_text_refers_to_files_outside_the_repository():
    for path in MARKDOWN:
        assert "../shared" not in _text(path), path.name
        assert "DESIGN.md" not in _text(path), path.name


def test_readme_stays_short():
    assert len(_text(ROOT / "README.md").splitlines()) <= 150


def test_every_management_command_named_in_the_docs_exists():
    # given: every `manage.py <command>` the README and docs mention
    named = {
        command for path in MARKDOWN for command in MANAGE_COMMAND.findall(_text(path))
    }
    # then: each is a management command of this project or Django
    assert {"import_content", "import_interactions", "train", "evaluate"} <= named
    assert sorted(named - set(get_commands())) == []


def test_every_make_target_named_in_the_docs_exists():
    targets = set(MAKEFILE_TARGET.findall(_text(ROOT / "Makefile")))
    assert {"run", "test", "setup", "docs"} <= targets
    named = {target for path in MARKDOWN for target in MAKE_TARGET.findall(_text(path))}
    assert sorted(named - targets) == []


def _api_v1_paths() -> set[str]:
    paths = set()
    for raw in API_PATH.findall(_text(DOCS / "api.md")):
        path = raw.split("?")[0].rstrip(".,;:")
        if path.endswith("...") or path == "/api/v1/":
            continue
        # Placeholders and shell variables stand for ids.
        path = re.sub(r"\{(reader|external_id)\}", "r-42", path)
        path = re.sub(r"\{[a-z_]+\}|\$[A-Z_]+|<[a-z_ ]+>", "1", path)
        paths.add(path)
    return paths


def test_every_api_v1_path_in_the_api_guide_resolves():
    # given: every /api/v1/ path the front-end guide shows
    paths = _api_v1_paths()
    assert {"/api/v1/events", "/api/v1/feed", "/api/v1/briefs"} <= paths
    # then: each is served by an API view, not by Wagtail's catch-all page serving
    unresolved = []
    for path in sorted(paths):
        try:
            match = resolve(path)
        except Resolver404:
            unresolved.append(path)
            continue
        if match.url_name == "wagtail_serve":
            unresolved.append(path)
    assert unresolved == []
