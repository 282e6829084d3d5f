"""GCP: a pause between a fresh project's grants and the first builds. See docs/deploying.md
(what a fresh account needs).

Enabling an API and granting a role both return before they take effect: Google documents IAM
changes as usually visible within two minutes, sometimes seven or more ("Access change
propagation", cloud.google.com/iam/docs/access-change-propagation), and a service as usable
"a few minutes" after it is enabled. The first Cloud Build that starts seconds after its
account's roles were granted fails with a permission error, and the provider does not retry a
build's failure (a failed build fails `google_cloudfunctions2_function`'s create operation,
which it reports as is). So the functions wait for `pulumiverse-time`'s `Sleep`, created once,
after the APIs and every grant: it costs the first `pulumi up` two minutes and later ones
nothing, unless an account it waits for is replaced (its `triggers`).
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumiverse_time as time

SETTLE = "120s"


def settle(
    name: str,
    members: Sequence[pulumi.Input[str]],
    after: Sequence[pulumi.Resource],
    parent: pulumi.Resource,
) -> pulumi.Resource:
    sleep: pulumi.Resource = time.Sleep(
        f"{name}-iam-settle",
        create_duration=SETTLE,
        triggers={f"member{i}": member for i, member in enumerate(members)},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(after)),
    )
    return sleep
