"""The preview workflow users run in their CI: each cloud's job sees only its own credentials,
through OIDC, and forks get nothing."""

from __future__ import annotations

import re

import yaml

from tests.support.pulumi_mocks import ROOT

WORKFLOW = yaml.safe_load((ROOT / ".github/workflows/preview.yml").read_text())
CLOUD_MARKERS = {
    "aws": ("AWS", "aws-actions"),
    "gcp": ("GCP", "GOOGLE", "google-github"),
    "azure": ("AZURE", "ARM_", "azure/"),
}


def test_each_cloud_has_its_own_job_with_oidc_and_no_fork_secrets() -> None:
    jobs = WORKFLOW["jobs"]
    assert set(jobs) == {"aws", "gcp", "azure"}
    assert WORKFLOW["permissions"] == {"contents": "read"}  # nothing more by default
    for cloud, job in jobs.items():
        assert job["permissions"]["id-token"] == "write", cloud
        assert job["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
        text = yaml.safe_dump(job)
        for other, markers in CLOUD_MARKERS.items():
            if other != cloud:
                assert not any(m in text for m in markers), f"{cloud} job sees {other} settings"
        # No long-lived cloud keys: the only secret is Pulumi's own token.
        assert set(re.findall(r"secrets\.(\w+)", text)) == {"PULUMI_ACCESS_TOKEN"}, cloud


def test_actions_are_current_major_versions() -> None:
    uses = {
        step["uses"].split("@")[0]: step["uses"].split("@")[1]
        for job in WORKFLOW["jobs"].values()
        for step in job["steps"]
        if "uses" in step
    }
    assert uses["actions/checkout"] == "v5"
    assert uses["actions/setup-python"] == "v6"
    assert uses["pulumi/actions"] == "v6"
