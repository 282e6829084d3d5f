"""The docs stay true: a short README, links that lead somewhere, every setting the code reads
documented, and the generated table matching its source."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from functions.core import settings
from scripts import config_docs
from stacks.config import DEFAULTS

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))
DOCS = [README, ROOT / "CONTRIBUTING.md", *PAGES]
CONFIGURATION = ROOT / "docs" / "configuration.md"
MAX_README_LINES = 150

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.M | re.S)


def section(path: Path, heading: str) -> str:
    """The text under `heading` up to the next heading of the same level."""
    level = heading.split(" ", 1)[0]
    text = path.read_text()
    assert f"\n{heading}\n" in text, f"{path.name} lost its section {heading!r}"
    return text.split(f"\n{heading}\n", 1)[1].split(f"\n{level} ", 1)[0]


def anchors(path: Path) -> set[str]:
    """GitHub's anchors for a page's headings: lower case, punctuation dropped, spaces as '-'."""
    headings = re.findall(r"^#{1,6} (.+)$", FENCE.sub("", path.read_text()), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def relative_links(path: Path) -> list[str]:
    found = LINK.findall(FENCE.sub("", path.read_text()))
    return [link for link in found if not re.match(r"[a-z]+:", link)]


def test_the_readme_stays_a_front_door_of_at_most_150_lines() -> None:
    lines = len(README.read_text().splitlines())
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines: move the detail to docs/"


@pytest.mark.parametrize("page", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_at_a_file_and_heading_that_exist(page: Path) -> None:
    broken = []
    for link in relative_links(page):
        target, _, anchor = link.partition("#")
        file = (page.parent / target).resolve() if target else page
        if not file.exists():
            broken.append(f"{link} (no such file)")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{link} (no such heading in {file.name})")
    assert broken == [], f"{page.relative_to(ROOT)}: {broken}"


def test_every_docs_page_is_linked_from_the_readme() -> None:
    linked = {(ROOT / link.partition("#")[0]).resolve() for link in relative_links(README)}
    assert [p.name for p in PAGES if p.resolve() not in linked] == []


def test_every_environment_variable_the_code_reads_is_in_the_configuration_table() -> None:
    table = section(CONFIGURATION, "## Environment variables")
    names = {
        value
        for key, value in vars(settings).items()
        if (key.isupper() and isinstance(value, str) and value.isupper() and "_" in value)
        or key in ("HOST", "PORT")
    }
    missing = sorted(name for name in names if f"`{name}`" not in table)
    assert missing == [], f"not documented in docs/configuration.md: {missing}"


def test_every_stack_setting_the_program_reads_is_in_the_configuration_page() -> None:
    source = (ROOT / "stacks" / "config.py").read_text()
    read = set(re.findall(r"\bconfig\.get\w*\(\"(\w+)\"", source)) | set(DEFAULTS)
    text = section(CONFIGURATION, "## Stack settings")
    missing = sorted(key for key in read if f"`lambda:{key}`" not in text)
    assert missing == [], f"not documented in docs/configuration.md: {missing}"


def test_the_generated_stack_settings_table_matches_pulumi_yaml() -> None:
    page = CONFIGURATION.read_text()
    fresh = config_docs.update(
        page, config_docs.render(yaml.safe_load(config_docs.PROJECT.read_text()))
    )
    assert fresh == page, "docs/configuration.md is out of date with Pulumi.yaml: run make docs"
    assert config_docs.main(["--check"]) == 0


def test_the_generator_refuses_a_page_that_lost_its_markers() -> None:
    with pytest.raises(ValueError, match="lacks its markers"):
        config_docs.update("# Configuration\n\nno markers here\n", "| table |")
