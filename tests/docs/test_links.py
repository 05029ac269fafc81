"""The documentation's links: README.md and every docs/**/*.md.

Every relative link (Markdown inline or reference links, images, HTML `href`/`src`) leads to a
file or directory inside the repository; every `#anchor`, in the same document or another
Markdown document, is one of that document's headings under GitHub's slug rules (or an HTML
`id`/`name`); no text names a path above the repository (`../shared`) or a Markdown document
the repository does not have (`DESIGN.md`); and every alert of the Prometheus rules has its
runbook page, which its `runbook_url` (and the Grafana rule forwarding it) leads to.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "knative" / "observability" / "prometheus" / "rules" / "clickstream.rules.yaml"
GRAFANA_ALERTING = ROOT / "knative" / "observability" / "grafana" / "alerting.yaml"
RUNBOOKS = ROOT / "docs" / "runbooks"
# directories that are not the repository's content (tools, caches, dependencies)
SKIPPED_DIRS = frozenset({"node_modules", "__pycache__", "dist"})


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


# --- GitHub's heading anchors --------------------------------------------------------------

# github-slugger keeps letters, marks, numbers, connector punctuation (`_`), spaces and `-`
_NOT_IN_SLUG = re.compile(r"[^\w\- ]")


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading's rendered text, before duplicates are numbered."""
    return _NOT_IN_SLUG.sub("", heading.lower()).replace(" ", "-")


class Slugger:
    """Numbers repeated slugs in document order as GitHub does: `a`, `a-1`, `a-2`."""

    def __init__(self) -> None:
        self._occurrences: dict[str, int] = {}

    def slug(self, heading: str) -> str:
        original = result = slug(heading)
        while result in self._occurrences:
            self._occurrences[original] += 1
            result = f"{original}-{self._occurrences[original]}"
        self._occurrences[result] = 0
        return result


_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_IMAGE_OR_LINK = re.compile(r"!?\[((?:[^\]\\]|\\.)*)\](?:\([^)]*\)|\[[^\]]*\])")
_HTML_TAG = re.compile(r"<[^>]+>")
_EMPHASIS = re.compile(r"(?<!\w)(\*{1,3}|_{1,3})(?=\S)(.+?)(?<=\S)\1(?!\w)")


def rendered(heading: str) -> str:
    """A heading's Markdown source as the text GitHub renders (what its slug is made of)."""
    parts = []
    for n, part in enumerate(_CODE_SPAN.split(heading)):
        # split gives text, fence, code, text, fence, code, ...: code stays as written
        if n % 3 == 2:
            parts.append(part.strip())
        elif n % 3 == 0:
            text = _IMAGE_OR_LINK.sub(r"\1", part)
            text = _HTML_TAG.sub("", text)
            parts.append(_EMPHASIS.sub(r"\2", text))
    return "".join(parts).strip()


# --- reading Markdown ----------------------------------------------------------------------

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_NOT_PARAGRAPH = re.compile(r"^ {0,3}(?:[-*+>|]|\d+[.)]|#)")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_HTML_ANCHOR = re.compile(r"""<[a-zA-Z][^>]*?\b(?:id|name)\s*=\s*["']([^"']+)["']""")


@dataclass(frozen=True, slots=True)
class Line:
    number: int
    text: str
    code: bool  # inside a fenced code block


def lines(path: Path) -> list[Line]:
    """The document's lines, HTML comments blanked (their line breaks kept)."""
    text = _COMMENT.sub(lambda m: "\n" * m.group().count("\n"), path.read_text())
    found = []
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        opening = _FENCE.match(line)
        if fence is None and opening:
            fence = opening.group(1)
            found.append(Line(number, line, code=True))
        elif fence is not None:
            closing = _FENCE.match(line)
            if (
                closing
                and closing.group(1)[0] == fence[0]
                and len(closing.group(1)) >= len(fence)
                and not line.strip().lstrip(fence[0])
            ):
                fence = None
            found.append(Line(number, line, code=True))
        else:
            found.append(Line(number, line, code=False))
    return found


def headings(path: Path) -> list[str]:
    """The rendered text of every heading, ATX (`## a`) and setext (`a` over `---`)."""
    found = []
    paragraph: list[str] = []
    for line in lines(path):
        if line.code:
            paragraph = []
            continue
        atx = _ATX.match(line.text)
        setext = _SETEXT.match(line.text)
        if atx:
            found.append(rendered(atx.group(2) or ""))
            paragraph = []
        elif setext and paragraph:
            found.append(rendered(" ".join(part.strip() for part in paragraph)))
            paragraph = []
        elif not line.text.strip() or _NOT_PARAGRAPH.match(line.text):
            paragraph = []
        else:
            paragraph.append(line.text)
    return found


def anchors(path: Path) -> set[str]:
    slugger = Slugger()
    found = {slugger.slug(heading) for heading in headings(path)}
    found |= {m.group(1) for line in lines(path) for m in _HTML_ANCHOR.finditer(line.text)}
    return found


# `](target)` ends every inline link and image, nested or not
_INLINE_TARGET = re.compile(r"\]\(\s*(<[^>]*>|[^)\s]*)(?:\s+[\"'(][^)]*)?\s*\)")
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
_HTML_TARGET = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']*)["']""")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def links(path: Path) -> Iterator[tuple[int, str]]:
    """(line, target) of every link outside code."""
    for line in lines(path):
        if line.code:
            continue
        text = _CODE_SPAN.sub(lambda m: " " * len(m.group()), line.text)
        for pattern in (_INLINE_TARGET, _REFERENCE, _HTML_TARGET):
            for match in pattern.finditer(text):
                yield line.number, match.group(1).strip("<>")


def inside(path: Path) -> bool:
    return path.resolve().is_relative_to(ROOT)


def resolve(document: Path, target: str) -> tuple[Path, str | None]:
    """A relative link's file (or directory) and its fragment, `None` without one."""
    location, _, fragment = target.partition("#")
    location = unquote(location.partition("?")[0])
    if not location:
        base = document
    elif location.startswith("/"):  # GitHub reads these from the repository's root
        base = ROOT / location.lstrip("/")
    else:
        base = document.parent / location
    return base.resolve(), unquote(fragment) if "#" in target else None


def broken(document: Path, target: str) -> str | None:
    """Why a link does not resolve; None when it does (or is not relative)."""
    if not target:
        return "empty link"
    if _SCHEME.match(target) or target.startswith("//"):
        return None
    path, fragment = resolve(document, target)
    if not inside(path):
        return f"{target}: outside the repository"
    if not path.exists():
        return f"{target}: no such file"
    if fragment is not None and path.suffix == ".md" and fragment not in anchors(path):
        return f"{target}: no heading #{fragment} in {name(path)}"
    return None


def repository_files() -> Iterator[Path]:
    for directory, subdirectories, files in os.walk(ROOT):
        subdirectories[:] = [
            d for d in subdirectories if not d.startswith(".") and d not in SKIPPED_DIRS
        ]
        for file in files:
            yield Path(directory) / file


_UP = re.compile(r"(?<![\w.~/-])((?:\.\./)+)([\w.-]*)")
_MARKDOWN_NAME = re.compile(r"(?<![\w./<>{}$-])([\w./-]*[\w-]\.md)\b")
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://\S+")


def outside_references(document: Path, markdown_names: frozenset[str]) -> Iterator[str]:
    """Paths above the repository, and Markdown documents it does not have, named anywhere
    in the document's text (code blocks included: a command is text a reader follows)."""
    for line in lines(document):
        text = _URL.sub(" ", line.text)
        above = {m.group() for m in _UP.finditer(text)}
        for path in sorted(above):
            if not inside(document.parent / path):
                yield f"{name(document)}:{line.number}: {path} is outside the repository"
        for mentioned in sorted({m.group(1) for m in _MARKDOWN_NAME.finditer(text)}):
            candidates = (document.parent / mentioned, ROOT / mentioned.lstrip("/"))
            if not any(inside(c) and c.is_file() for c in candidates) and (
                Path(mentioned).name not in markdown_names
            ):
                yield f"{name(document)}:{line.number}: {mentioned} is not in the repository"


# --- tests: the slug -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("Delivery guarantees", "delivery-guarantees"),
        ("Departures from DESIGN.md, and why", "departures-from-designmd-and-why"),
        (
            "Pipeline: CPU per event in `process` (2026-11-27, early morning)",
            "pipeline-cpu-per-event-in-process-2026-11-27-early-morning",
        ),
        ("The `clickstream_deadletters_total` total", "the-clickstream_deadletters_total-total"),
        ("Set-up: two commands", "set-up-two-commands"),
        ("What *it* means — and **why**", "what-it-means--and-why"),
        ("[Runbooks](docs/runbooks/README.md) & alerts", "runbooks--alerts"),
        ("Über Straße", "über-straße"),
        ("100,000 events/s", "100000-eventss"),
    ],
)
def test_slug_of_a_heading(heading: str, expected: str) -> None:
    assert slug(rendered(heading)) == expected


def test_repeated_headings_are_numbered() -> None:
    slugger = Slugger()
    got = [slugger.slug(h) for h in ("Confirm", "Confirm", "Confirm-1", "Confirm", "confirm")]
    assert got == ["confirm", "confirm-1", "confirm-1-1", "confirm-2", "confirm-3"]


def test_headings_and_links_are_read_outside_code(tmp_path: Path) -> None:
    document = tmp_path / "a.md"
    document.write_text(
        "# Title\n\nSetext heading\n---\n\n```sh\n# not a heading [x](nowhere.md)\n```\n"
        "<!-- [y](hidden.md)\n## hidden -->\n"
        'See [b](b.md#part-two), `[c](code.md)` and <a href="c.md">c</a>.\n'
        '<a id="kept"></a>\n[ref]: <d.md>\n## Title\n'
    )
    assert headings(document) == ["Title", "Setext heading", "Title"]
    assert anchors(document) == {"title", "setext-heading", "title-1", "kept"}
    assert [target for _, target in links(document)] == ["b.md#part-two", "c.md", "d.md"]


# --- tests: the repository's documents -----------------------------------------------------


@pytest.mark.parametrize("document", documents(), ids=name)
def test_every_relative_link_and_anchor_resolves(document: Path) -> None:
    problems = [
        f"{name(document)}:{number}: {why}"
        for number, target in links(document)
        if (why := broken(document, target))
    ]
    assert problems == []


def test_nothing_refers_outside_the_repository() -> None:
    markdown_names = frozenset(p.name for p in repository_files() if p.suffix == ".md")
    problems = [
        problem
        for document in documents()
        for problem in outside_references(document, markdown_names)
    ]
    assert problems == []


# --- tests: runbooks -----------------------------------------------------------------------


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def runbook_target(url: str) -> tuple[Path, str | None]:
    """A `runbook_url`, a path from the repository's root, as a file and fragment."""
    assert not _SCHEME.match(url), url
    assert not url.startswith("/"), url
    return resolve(ROOT / "README.md", url)


def test_every_alert_has_a_runbook_its_runbook_url_leads_to() -> None:
    alerts = alert_rules()
    assert alerts
    for rule in alerts:
        page = RUNBOOKS / f"{rule['alert']}.md"
        assert page.is_file(), f"no runbook for {rule['alert']}"
        assert headings(page)[0] == rule["alert"], name(page)
        url = rule.get("annotations", {}).get("runbook_url")
        assert url, f"{rule['alert']} has no runbook_url"
        assert runbook_target(url) == (page, None), url


def test_runbooks_are_the_alerts_and_all_indexed() -> None:
    pages = {p.stem for p in RUNBOOKS.glob("*.md") if p.name != "README.md"}
    assert pages == {rule["alert"] for rule in alert_rules()}
    index = RUNBOOKS / "README.md"
    indexed = {resolve(index, target)[0] for _, target in links(index)}
    assert {RUNBOOKS / f"{page}.md" for page in pages} <= indexed


_IF = re.compile(
    r"\{\{-?\s*if\s+\$labels\.(\w+)\s*-?\}\}(.*?)\{\{-?\s*else\s*-?\}\}(.*?)\{\{-?\s*end\s*-?\}\}",
    re.S,
)
_LABEL = re.compile(r"\{\{-?\s*\$labels\.(\w+)\s*-?\}\}")


def expand(template: str, labels: dict[str, str]) -> str:
    """The few Go-template forms an annotation here uses: `{{ $labels.x }}` and
    `{{ if $labels.x }}...{{ else }}...{{ end }}` (a missing label is empty, hence false)."""
    text = _IF.sub(lambda m: m.group(2) if labels.get(m.group(1)) else m.group(3), template)
    text = _LABEL.sub(lambda m: labels.get(m.group(1), ""), text)
    assert "{{" not in text, f"a template form this test does not read: {template}"
    return text.strip()


def test_expand_reads_the_forms_it_knows() -> None:
    template = "{{ if $labels.a }}x/{{ $labels.a }}.md{{ else }}y.md{{ end }}"
    assert expand(template, {"a": "b"}) == "x/b.md"
    assert expand(template, {}) == "y.md"


def test_grafana_forwards_each_alert_with_its_runbook() -> None:
    """The Grafana rule that forwards firing Prometheus alerts: its `runbook_url`, expanded
    with the labels its query gives an alert instance, leads to that alert's page; without
    them (the rule's own error alert), to an existing page and heading."""
    alerting = yaml.safe_load(GRAFANA_ALERTING.read_text())
    rules = [rule for group in alerting["groups"] for rule in group["rules"]]
    assert rules
    for rule in rules:
        # `$$` is provisioning's escape of `$`
        template = rule["annotations"]["runbook_url"].replace("$$", "$")
        exprs = " ".join(q["model"].get("expr", "") for q in rule["data"]).replace("$$", "$")
        for label in set(_LABEL.findall(template)) | {m.group(1) for m in _IF.finditer(template)}:
            grouping = re.search(r"\bby\s*\(([^)]*)\)", exprs)
            assert grouping is not None, exprs
            assert label in grouping.group(1), f"the query gives no {label} label"
            for alert in alert_rules():
                page = RUNBOOKS / f"{alert['alert']}.md"
                assert runbook_target(expand(template, {label: alert["alert"]})) == (page, None)
        fallback = expand(template, {})
        assert broken(ROOT / "README.md", fallback) is None, fallback
