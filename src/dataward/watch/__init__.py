"""``dataward watch``: re-probe stores on a schedule, keep exact exposure windows, alert on transitions.

Library API: ``Watcher(targets, policy, config).run(stop_event)`` / ``.run_once()``,
``watch_config(policy, **overrides)``, and ``history.history_json(state)`` for the incident commands.
"""

from dataward.watch.config import AlertTarget, WatchConfig, config_from_policy
from dataward.watch.watcher import RoundSummary, Watcher

__all__ = ["AlertTarget", "RoundSummary", "WatchConfig", "Watcher", "config_from_policy"]
