"""The commit convention's check (scripts/check_commits.py) on sample messages, as the hook sees
them and as `make check-commits` reads them from git."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scripts import check_commits

GOOD = "outbox: write the record before the event\n\nSo an event always has its delivery.\n"


@pytest.mark.parametrize(
    "message",
    [
        GOOD,
        "docs: move deploying out of the README\n",
        "core, aws: one table of scheduled jobs\n\nBody.\n",
        "stacks/gcp: enable the APIs first",
        "Merge branch 'docs' into main\n",
        "fixup! docs: move deploying out of the README and a subject far longer than it may be\n",
    ],
)
def test_a_message_that_follows_the_convention_passes(message: str) -> None:
    assert check_commits.problems(message) == []


def test_a_subject_of_exactly_72_characters_passes_and_73_does_not() -> None:
    prefix = "docs: "
    assert check_commits.problems(prefix + "x" * (72 - len(prefix))) == []
    (problem,) = check_commits.problems(prefix + "x" * (73 - len(prefix)))
    assert problem == "the subject has 73 characters (at most 72)"


def test_the_projects_longest_old_subject_is_refused_for_its_length_and_its_missing_area() -> None:
    subject = "Local three-cloud mesh (make mesh), scheduled retry entry points, " * 12
    found = check_commits.problems(subject.strip())
    assert any("characters (at most 72)" in p for p in found)
    assert any("area prefix" in p for p in found)


@pytest.mark.parametrize(
    "subject",
    [
        "Add the outbox",  # no area
        "Docs: capitalised area",
        "docs:no space after the colon",
        "docs : space before the colon",
        ": empty area",
    ],
)
def test_a_subject_without_a_lower_case_area_prefix_is_refused(subject: str) -> None:
    assert check_commits.problems(subject) == [
        "the subject lacks an area prefix, as in `outbox: write the record first`"
    ]


def test_a_body_glued_to_the_subject_is_refused() -> None:
    assert check_commits.problems("docs: move a page\nbecause it was long\n") == [
        "the second line is not blank (a blank line separates subject and body)"
    ]


def test_an_empty_message_is_refused() -> None:
    assert check_commits.problems("\n# only a comment\n") == ["the message is empty"]


def test_the_hook_ignores_gits_comment_lines_and_the_verbose_diff() -> None:
    message = (
        "docs: move a page\n\nWhy.\n"
        "# Please enter the commit message for your changes.\n"
        f"{check_commits.SCISSORS}\n"
        "diff --git a/README.md b/README.md\n"
        "+a line of the diff that is far longer than seventy-two characters, which is fine\n"
    )
    assert check_commits.cleaned(message) == "docs: move a page\n\nWhy."
    assert check_commits.problems(message) == []


def test_the_hook_exits_non_zero_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = tmp_path / "COMMIT_EDITMSG"
    message.write_text("Fix things\n")
    assert check_commits.main(["--message-file", str(message)]) == 1
    assert "lacks an area prefix" in capsys.readouterr().err
    message.write_text(GOOD)
    assert check_commits.main(["--message-file", str(message)]) == 0


def test_only_the_commits_since_the_base_are_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN an old commit that breaks the convention on main, and a branch with one good
    # commit and one bad one
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("config", "user.email", "dev@example.com")
    git("config", "user.name", "dev")
    git("commit", "-q", "--allow-empty", "-m", "An old subject with no area at all")
    git("checkout", "-q", "-b", "work")
    git("commit", "-q", "--allow-empty", "-m", GOOD)
    git("commit", "-q", "--allow-empty", "-m", "docs: a subject\nglued to its body")
    monkeypatch.chdir(tmp_path)
    # WHEN the branch is checked against main (no origin here)
    assert check_commits.default_base() == "main"
    status = check_commits.main([])
    # THEN only the bad commit of the branch is reported
    err = capsys.readouterr().err
    assert status == 1
    assert "the second line is not blank" in err
    assert "An old subject" not in err
    assert "area prefix" not in err
    assert [m.split("\n")[0] for _, m in check_commits.commits("main")] == [
        "outbox: write the record before the event",
        "docs: a subject",
    ]
