"""``--format html``: one self-contained file a security lead can open anywhere — no JavaScript, no CDN.

Summary counts, inline SVG bar charts of findings by severity and by store, then a section per store with
what is inside (categories, redacted evidence per column) and its findings with remediation.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from jinja2 import Environment, select_autoescape

from dataward import __version__
from dataward.report.base import register_format
from dataward.report.model import SEVERITIES, Report

COLORS = {"critical": "#7f1d1d", "high": "#dc2626", "medium": "#d97706", "low": "#2563eb", "info": "#6b7280"}


@register_format("html", suffixes=(".html", ".htm"))
def render_html(report: Report) -> str:
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    template = env.from_string(files("dataward.report").joinpath("templates/report.html.j2").read_text())
    summary = report.summary()
    return template.render(
        report=report,
        summary=summary,
        severities=SEVERITIES,
        colors=COLORS,
        version=__version__,
        by_severity_chart=_bars([(s, summary["by_severity"][s], COLORS[s]) for s in SEVERITIES]),
        by_store_chart=_stacked(summary["by_store"]),
        groups=report.findings_by_store(),
    )


def _bars(rows: list[tuple[str, int, str]], width: int = 420) -> dict[str, Any]:
    """Geometry for a horizontal bar chart (the template draws it as SVG)."""
    top = max((n for _, n, _ in rows), default=0) or 1
    label_w, bar_h, gap = 90, 22, 6
    bars = [
        {"label": label, "n": n, "color": color, "y": i * (bar_h + gap), "w": round((width - label_w - 50) * n / top)}
        for i, (label, n, color) in enumerate(rows)
    ]
    return {"bars": bars, "width": width, "height": len(rows) * (bar_h + gap), "label_w": label_w, "bar_h": bar_h}


def _stacked(by_store: dict[str, dict[str, int]], width: int = 640) -> dict[str, Any]:
    """Geometry for one stacked bar per store, segments by severity."""
    label_w, bar_h, gap = 220, 22, 6
    top = max((sum(c.values()) for c in by_store.values()), default=0) or 1
    rows = []
    for i, (store, counts) in enumerate(by_store.items()):
        x = label_w
        segs = []
        for sev in SEVERITIES:
            w = round((width - label_w - 50) * counts.get(sev, 0) / top)
            if w:
                segs.append({"x": x, "w": w, "color": COLORS[sev], "n": counts[sev], "sev": sev})
                x += w
        rows.append({"label": store if len(store) <= 32 else store[:31] + "…", "y": i * (bar_h + gap),
                     "segs": segs, "total": sum(counts.values()), "end": x})
    return {"rows": rows, "width": width, "height": max(1, len(rows)) * (bar_h + gap), "label_w": label_w,
            "bar_h": bar_h}
