"""The preview workflow users run in their CI: each cloud's job sees only its own credentials,
through OIDC, forks get nothing, and a job skips until its cloud is set up."""

from __future__ import annotations

import re

import yaml

from tests.support.pulumi_mocks import ROOT

WORKFLOW = yaml.safe_load((ROOT / ".github/workflows/preview.yml").read_text())
FROM_THIS_REPOSITORY = "github.event.pull_request.head.repo.full_name == github.repository"
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
        assert job["if"].startswith(FROM_THIS_REPOSITORY + " && "), cloud
        text = yaml.safe_dump(job)
        for other, markers in CLOUD_MARKERS.items():
            if other != cloud:
                assert not any(m in text for m in markers), f"{cloud} job sees {other} settings"
        # No long-lived cloud keys: the only secret is Pulumi's own token.
        assert set(re.findall(r"secrets\.(\w+)", text)) == {"PULUMI_ACCESS_TOKEN"}, cloud


def test_each_job_skips_until_every_variable_it_reads_is_set() -> None:
    # An unset repository variable reads as '': on a repository not set up for a cloud (a fork,
    # a new clone), that cloud's job is skipped, not run to fail on an empty role or stack name.
    for cloud, job in WORKFLOW["jobs"].items():
        steps = yaml.safe_dump(job["steps"]) + yaml.safe_dump(job.get("env", {}))
        read = set(re.findall(r"vars\.(\w+)", steps))
        required = set(re.findall(r"vars\.(\w+) != ''", job["if"]))
        assert "PULUMI_ORG" in read, cloud
        assert required == read, f"{cloud} job reads {sorted(read)}, requires {sorted(required)}"
        conditions = job["if"].split(" && ")
        assert conditions[0] == FROM_THIS_REPOSITORY, cloud
        assert all(re.fullmatch(r"vars\.\w+ != ''", c) for c in conditions[1:]), cloud


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
