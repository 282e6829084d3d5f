"""botocore's documentation generator deferred (functions/aws/docstrings.py): a client made
through the function's session imports none of it, and every docstring botocore would have
written still reads the same, through `help()` too (docs/deploying.md, cold starts).

Each check runs in a fresh interpreter: this one has loaded botocore (and its docs) already.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import botocore

from functions.aws import docstrings
from tools.processes import ROOT

ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
}
# The documentation generator's modules: what `import botocore.docs.docstring` loads.
GENERATOR = ("botocore.docs.service", "botocore.docs.bcdoc.restdoc", "html.parser")

DOCS = """
import inspect, json, sys
{setup}
client = {client}
paginate = client.get_paginator("list_objects_v2").paginate
loaded = [m for m in {generator!r} if m in sys.modules]
print(json.dumps({{
    "loaded_before": loaded,
    "put_object": inspect.getdoc(client.put_object),
    "paginate": inspect.getdoc(paginate),
    "str": str(client.get_object.__doc__),
}}))
"""
OURS = "from functions.aws import sdk", 'sdk.client("s3")'
BOTOCORE = "import botocore.session", 'botocore.session.get_session().create_client("s3")'


def run(code: str) -> dict[str, object]:
    env = {**os.environ, **ENV, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def docs_of(setup: str, client: str) -> dict[str, object]:
    return run(DOCS.format(setup=setup, client=client, generator=GENERATOR))


def test_a_client_of_the_functions_session_loads_no_documentation_generator() -> None:
    ours = docs_of(*OURS)
    assert ours["loaded_before"] == []
    # botocore's own session, as boto3 makes it, loads it with the client.
    assert docs_of(*BOTOCORE)["loaded_before"] == list(GENERATOR)


def test_every_docstring_reads_as_botocore_writes_it() -> None:
    ours, theirs = docs_of(*OURS), docs_of(*BOTOCORE)
    for name in ("put_object", "paginate", "str"):
        assert isinstance(ours[name], str)
        assert ours[name] == theirs[name], name
    assert "**Request Syntax**" in str(ours["put_object"])


def test_botocore_docs_stays_whole_for_whoever_imports_it_later() -> None:
    code = f"""
import json, pydoc, sys
from functions.aws import sdk
client = sdk.client("s3")
assert not any(m in sys.modules for m in {GENERATOR!r})
import botocore.docs
from botocore.docs.service import ServiceDocumenter
from botocore.docs.docstring import LazyLoadedDocstring
from functions.aws.docstrings import real_module
help_text = pydoc.render_doc(client.list_objects_v2, renderer=pydoc.plaintext)
print(json.dumps({{
    "generate_docs": callable(botocore.docs.generate_docs),
    "documenter": botocore.docs.ServiceDocumenter is ServiceDocumenter,
    "real": real_module().ClientMethodDocstring.__mro__[1] is LazyLoadedDocstring,
    "help": "ContinuationToken" in help_text,
}}))
"""
    assert run(code) == {
        "generate_docs": True,
        "documenter": True,
        "real": True,
        "help": True,
    }


def test_deferring_after_botocore_loaded_its_docs_changes_nothing() -> None:
    code = """
import json, sys
import botocore.session
before = sys.modules["botocore.docs.docstring"]
from functions.aws import docstrings
docstrings.defer()
print(json.dumps({"same": sys.modules["botocore.docs.docstring"] is before}))
"""
    assert run(code) == {"same": True}


def test_the_stand_ins_cover_every_name_botocore_imports_from_the_docstring_module() -> None:
    """A botocore that imported another name would fail at import with the stand-ins in
    place: this says so before an archive ships it."""
    imported: set[str] = set()
    for path in Path(botocore.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == docstrings.MODULE:
                imported |= {alias.name for alias in node.names}
    assert imported == set(docstrings.NAMES)
