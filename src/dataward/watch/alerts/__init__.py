"""Alert sinks (webhook, smtp, apprise, stdout), one module each; see base.py."""

from dataward.watch.alerts.base import SINKS, DeliveryError, Sink, register_sink, sink_for

__all__ = ["SINKS", "DeliveryError", "Sink", "register_sink", "sink_for"]
