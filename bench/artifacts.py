"""Each cloud's deployment archive for its default target: zipped and unzipped size, and what
takes the space."""

from __future__ import annotations

import zipfile
from collections import Counter
from typing import Any

from stacks.config import DEFAULT_ARCH, DEFAULTS
from stacks.packaging import Target, build_archive

SITE = ".python_packages/lib/site-packages/"


def top_level(name: str) -> str:
    name = name.removeprefix(SITE)
    head = name.split("/", 1)[0]
    return head.split("-")[0] if head.endswith(".dist-info") else head


def run() -> dict[str, Any]:
    results = {}
    for cloud in ("aws", "gcp", "azure"):
        target = Target(cloud, str(DEFAULTS["pythonVersion"]), DEFAULT_ARCH[cloud])
        archive = build_archive(target)
        with zipfile.ZipFile(archive.path) as z:
            infos = z.infolist()
        space: Counter[str] = Counter()
        for info in infos:
            space[top_level(info.filename)] += info.file_size
        results[cloud] = {
            "target": f"python{target.python} {target.arch}",
            "zipped_mib": round(archive.path.stat().st_size / 2**20, 2),
            "unzipped_mib": round(sum(i.file_size for i in infos) / 2**20, 2),
            "files": len(infos),
            "bytecode": archive.bytecode,
            "largest": [{"name": k, "mib": round(v / 2**20, 2)} for k, v in space.most_common(5)],
        }
    return results
