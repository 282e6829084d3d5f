"""The name Azure stacks' state knows the dynamic providers by: Pulumi pickled them as
`stacks.flex_deploy.<class>` when they lived here, and unpickles that to refresh or delete.
They now live in stacks/azure/flex_deploy.py (see its last lines); keep this module.
"""

from stacks.azure.flex_deploy import _OneDeploy, _Registration, _TriggerSync

__all__ = ["_OneDeploy", "_Registration", "_TriggerSync"]
