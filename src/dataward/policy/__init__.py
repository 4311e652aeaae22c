"""Policy as code: what each store is for, what it may hold and which controls it must have."""

from dataward.policy.load import load_policy, parse_policy
from dataward.policy.model import Policy, RolePolicy, StoreConfig

__all__ = ["Policy", "RolePolicy", "StoreConfig", "load_policy", "parse_policy"]
