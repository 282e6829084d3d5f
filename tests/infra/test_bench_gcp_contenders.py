"""The GCP side of `make bench`'s contenders (bench/contenders.py): our function and a plain
functions-framework function, each as Cloud Build installs it, answer both routes through the
app functions-framework builds, and their webhooks land in fake-gcs-server."""

from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from bench import buildpack, contenders
from bench.alternatives import CONTENDERS
from stacks.packaging import find_interpreter
from tests.support.gcs import gcs_client
from tools import artifacts
from tools.processes import Server

PYTHON = find_interpreter("3.12")
pytestmark = [
    pytest.mark.skipif(PYTHON is None, reason="no Python 3.12 on this machine"),
    pytest.mark.isolated,
]
PLAIN = next(c for c in CONTENDERS if c.label == contenders.BARE["gcp"])


@pytest.fixture(scope="module")
def setups(tmp_path_factory: pytest.TempPathFactory) -> dict[str, contenders.Setup]:
    assert PYTHON is not None
    work = tmp_path_factory.mktemp("gcp-contenders")
    return contenders.setups(work, PYTHON, {"gcp": {}}, ("gcp",))


def payloads(bucket: str) -> list[Any]:
    blobs = gcs_client().list_blobs(bucket, prefix="events/")
    return sorted(
        (json.loads(blob.download_as_bytes())["payload"] for blob in blobs), key=json.dumps
    )


@pytest.mark.parametrize("label", [contenders.OURS["gcp"], contenders.BARE["gcp"]])
def test_each_answers_both_routes_and_stores_every_webhook_on_fake_gcs(
    setups: dict[str, contenders.Setup], fake_gcs: Server, gcs_bucket: str, label: str
) -> None:
    assert PYTHON is not None
    setup = dataclasses.replace(setups[label], env=contenders.gcs_env(fake_gcs.url, gcs_bucket))
    before = artifacts.snapshot(setup.root)
    # measure() raises unless the statuses were 200 (/health) and 201 (each webhook).
    result = contenders.measure(PYTHON, setup, warm=2)
    assert result["statuses"] == [200, 201]
    assert payloads(gcs_bucket) == [{"n": 1}, {"n": 2}, {"n": 2}]
    assert artifacts.snapshot(setup.root) == before, "a run wrote into the deployed tree"
    assert 0 < result["steps"]["framework"] < result["steps"]["import"]


def test_our_function_is_the_archive_pulumi_ships_with_its_entry_point(
    setups: dict[str, contenders.Setup],
) -> None:
    ours = setups[contenders.OURS["gcp"]]
    main = (ours.root / "main.py").read_text()
    assert main == Path("functions/gcp/main.py").read_text()
    assert "@functions_framework.http\ndef handle(" in main  # the stack's entry point
    assert (ours.root / "functions/core/app.py").is_file()


def test_the_buildpack_compiles_the_layer_alone_at_the_same_pins_for_both(
    setups: dict[str, contenders.Setup],
) -> None:
    def versions(root: Path) -> dict[str, str]:
        infos = buildpack.layer(root).glob("*.dist-info")
        return dict(info.name.removesuffix(".dist-info").rsplit("-", 1) for info in infos)

    ours, plain = (setups[contenders.OURS["gcp"]], setups[contenders.BARE["gcp"]])
    for setup in (ours, plain):
        layer = buildpack.layer(setup.root)
        sources = {p.with_suffix("").name for p in layer.rglob("*.py")}
        compiled = {p.name.split(".")[0] for p in layer.rglob("*.cpython-312.pyc")}
        assert sources <= compiled, "a dependency without bytecode"
        pyc = next(layer.rglob("__init__.cpython-312.pyc")).read_bytes()
        assert int.from_bytes(pyc[4:8], "little") == 0b01, "not unchecked-hash (PEP 552)"
        # the uploaded sources ship as they are: ours with the bytecode the archive carries
        # (stacks/packaging.py), the plain one's main.py without
        outside = [p for p in setup.root.rglob("*.py") if buildpack.LAYER not in p.as_posix()]
        compiled = [p for p in setup.root.rglob("*.pyc") if buildpack.LAYER not in p.as_posix()]
        assert len(compiled) == (len(outside) if setup is ours else 0)
        assert setup.flags == ("-B",)  # so every start compiles them, writing nothing
    shared = versions(ours.root).keys() & versions(plain.root).keys()
    assert {"functions_framework", "google_cloud_storage", "flask"} <= shared
    assert {k: versions(ours.root)[k] for k in shared} == {
        k: versions(plain.root)[k] for k in shared
    }


def test_the_plain_contender_is_a_source_upload_at_the_lock_pins() -> None:
    assert PYTHON is not None
    with zipfile.ZipFile(contenders.upload(PLAIN, PYTHON)) as z:
        assert sorted(z.namelist()) == ["main.py", "requirements.txt"]
        pins = z.read("requirements.txt").decode().splitlines()
    locked = {
        line.split(" ")[0].split(";")[0]
        for line in Path("requirements.lock").read_text().splitlines()
        if "==" in line and not line.startswith((" ", "#"))
    }
    assert {"functions-framework", "google-cloud-storage"} <= {p.split("==")[0] for p in pins}
    assert set(pins) <= locked
