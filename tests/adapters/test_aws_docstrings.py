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
waiter = client.get_waiter("object_exists")
loaded = [m for m in {generator!r} if m in sys.modules]
print(json.dumps({{
    "loaded_before": loaded,
    "put_object": inspect.getdoc(client.put_object),
    "paginate": inspect.getdoc(paginate),
    "wait": inspect.getdoc(waiter.wait),
    "str": str(client.get_object.__doc__),
    "repr": repr(client.delete_object.__doc__),
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
    for name in ("put_object", "paginate", "wait", "str", "repr"):
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
    """A botocore that imported another name would load the real module at once (the
    stand-in's other names are the real one's), bringing the whole generator back: this says
    so before an archive ships it."""
    imported: set[str] = set()
    for path in Path(botocore.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == docstrings.MODULE:
                imported |= {alias.name for alias in node.names}
    assert imported == set(docstrings.NAMES)


def test_the_stand_in_module_is_reached_as_a_dotted_name_too() -> None:
    code = """
import json
from functions.aws import sdk
sdk.client("s3")
import botocore.docs.docstring
print(json.dumps(botocore.docs.docstring.ClientMethodDocstring.__name__))
"""
    assert run(code) == "ClientMethodDocstring"


def test_a_docstring_pickles_as_its_text_before_and_after_the_real_module_loads() -> None:
    code = """
import json, pickle
from functions.aws import sdk
client = sdk.client("s3")
before = pickle.loads(pickle.dumps(client.put_object.__doc__))
import boto3  # loads the real docstring module
after = pickle.loads(pickle.dumps(client.get_object.__doc__))
print(json.dumps([type(before).__name__, before == str(client.put_object.__doc__),
                  "**Request Syntax**" in after]))
"""
    assert run(code) == ["str", True, True]


def test_threads_reading_the_deferred_package_at_once_all_see_it_whole() -> None:
    code = """
import json, threading
from functions.aws import sdk
sdk.client("s3")
import botocore.docs
start, errors = threading.Barrier(8), []
def read():
    start.wait()
    try:
        botocore.docs.DEPRECATED_SERVICE_NAMES
        botocore.docs.generate_docs
    except AttributeError as error:
        errors.append(str(error))
threads = [threading.Thread(target=read) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps(errors))
"""
    assert run(code) == []
