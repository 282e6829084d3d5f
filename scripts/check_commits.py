"""The commit convention, checked: a subject of at most 72 characters with an area prefix
(`outbox: write the record before the event`), and a blank line before any body.

    python3 -m scripts.check_commits [BASE]             # commits in BASE..HEAD (make check-commits)
    python3 -m scripts.check_commits --message-file F   # one message (the commit-msg hook)

BASE defaults to origin/main, or main where there is no remote. Merge commits are not checked
(git writes their subjects). Standard library only, so the hook runs without the venv. The
convention and its reasons: CONTRIBUTING.md.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

MAX_SUBJECT = 72
# One area or several (`core, aws: ...`), lower case, as the project's folders and modules are.
AREA = re.compile(r"[a-z][a-z0-9_./-]*(, [a-z][a-z0-9_./-]*)*: \S")
# Made by `git commit --fixup/--squash` and folded away by `git rebase --autosquash`.
TRANSIENT = ("fixup! ", "squash! ", "amend! ")
SCISSORS = "# ------------------------ >8 ------------------------"


def cleaned(message: str) -> str:
    """The message as git stores it: without comment lines, without what follows the scissors
    line of `commit --verbose`, without trailing blank lines."""
    text = message.split(SCISSORS, 1)[0]
    lines = [line.rstrip() for line in text.splitlines() if not line.startswith("#")]
    return "\n".join(lines).strip("\n")


def problems(message: str) -> list[str]:
    """What is wrong with one commit message: an empty list when nothing is."""
    text = cleaned(message)
    if not text:
        return ["the message is empty"]
    subject, *rest = text.split("\n")
    if subject.startswith(("Merge ", *TRANSIENT)):
        return []
    found = []
    if len(subject) > MAX_SUBJECT:
        found.append(f"the subject has {len(subject)} characters (at most {MAX_SUBJECT})")
    if not AREA.match(subject):
        found.append("the subject lacks an area prefix, as in `outbox: write the record first`")
    if rest and rest[0].strip():
        found.append("the second line is not blank (a blank line separates subject and body)")
    return found


def default_base() -> str:
    remote = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", "origin/main"],
        capture_output=True,
        check=False,
    )
    return "origin/main" if remote.returncode == 0 else "main"


def commits(base: str) -> list[tuple[str, str]]:
    """(short hash, full message) of each non-merge commit in base..HEAD, oldest first."""
    out = subprocess.run(
        ["git", "log", "--no-merges", "--reverse", "--format=%h%x00%B%x01", f"{base}..HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    entries = [entry.strip("\n") for entry in out.split("\x01") if entry.strip()]
    return [(sha, body) for sha, body in (entry.split("\x00", 1) for entry in entries)]


def report(label: str, found: list[str]) -> str:
    return "\n".join(f"{label}: {problem}" for problem in found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("base", nargs="?", help="check the commits in BASE..HEAD")
    parser.add_argument("--message-file", type=Path, help="check this one message instead")
    args = parser.parse_args(argv)
    if args.message_file is not None:
        found = problems(args.message_file.read_text())
        if found:
            print(report("commit message", found), file=sys.stderr)
            print("(the convention: CONTRIBUTING.md)", file=sys.stderr)
        return 1 if found else 0
    base = args.base or default_base()
    failures = [
        report(sha, found) for sha, message in commits(base) if (found := problems(message))
    ]
    if failures:
        print("\n".join(failures), file=sys.stderr)
        print(f"{len(failures)} commit(s) since {base} break the convention: CONTRIBUTING.md")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
