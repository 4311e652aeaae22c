"""Alert sinks (webhook, smtp, apprise, stdout), one module each; see base.py."""

from dataward.watch.alerts.base import DeliveryError, Sink, register_sink, registered_sinks, sink_for

__all__ = ["DeliveryError", "Sink", "register_sink", "registered_sinks", "sink_for"]
