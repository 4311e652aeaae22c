"""The analytics report as one self-contained HTML file: inline SVG bar charts drawn here, no script, no CDN.

Every label is escaped; the page holds only aggregates (rates and counts), never a row of the source.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from dataward.analytics.metrics import Analytics

_BAR_H = 18
_GAP = 6
_LABEL_W = 150
_CHART_W = 420
_COLOR = "#2f6fb0"


def bar_chart(title: str, data: Mapping[str, float], *, percent: bool = False) -> str:
    """A horizontal bar chart of ``data`` (label -> value) as an inline ``<svg>`` element."""
    if not data:
        return f"<p class='empty'>{escape(title)}: no data.</p>"
    top = max(data.values()) or 1.0
    height = len(data) * (_BAR_H + _GAP) + _GAP
    rows = []
    for i, (label, value) in enumerate(data.items()):
        y = _GAP + i * (_BAR_H + _GAP)
        width = max(1.0, _CHART_W * (value / top))
        text = f"{value * 100:.1f}%" if percent else f"{value:,.0f}"
        rows.append(
            f"<text x='{_LABEL_W - 6}' y='{y + _BAR_H - 5}' text-anchor='end'>{escape(str(label))}</text>"
            f"<rect x='{_LABEL_W}' y='{y}' width='{width:.1f}' height='{_BAR_H}' fill='{_COLOR}'>"
            f"<title>{escape(str(label))}: {text}</title></rect>"
            f"<text x='{_LABEL_W + width + 4:.1f}' y='{y + _BAR_H - 5}'>{text}</text>"
        )
    total_w = _LABEL_W + _CHART_W + 80
    return (
        f"<figure><figcaption>{escape(title)}</figcaption>"
        f"<svg xmlns='http://www.w3.org/2000/svg' role='img' aria-label='{escape(title)}' "
        f"width='{total_w}' height='{height}' font-family='sans-serif' font-size='12'>{''.join(rows)}</svg>"
        "</figure>"
    )


def render_html(result: Analytics) -> str:
    """The whole page: the five answers as charts, with the caveats of a generalised copy on top."""
    notes = "".join(
        f"<li><b>{escape(k)}</b> is coarser: {escape(v)}</li>" for k, v in result.coarser.items()
    ) + "".join(f"<li><b>{escape(k)}</b> is unavailable: {escape(v)}</li>" for k, v in result.unavailable.items())
    charts = [
        bar_chart("Connectivity rate by camera model", result.connectivity_by_model, percent=True),
        bar_chart("Connectivity rate by firmware", result.connectivity_by_firmware, percent=True),
        bar_chart("Connection failures by error code", result.failures_by_error_code),
        bar_chart("New users by month", result.users_by_month),
        bar_chart("Users by number of devices", result.devices_per_user),
    ]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>dataward analytics</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
figure {{ margin: 1.5em 0; }} figcaption {{ font-weight: bold; margin-bottom: .4em; }}
.note {{ background: #fff7e0; border-left: 4px solid #e0a800; padding: .5em 1em; }}
</style></head><body>
<h1>Product analytics</h1>
<p>Source: <code>{escape(result.source)}</code>. Rates are successful connects / connection attempts.</p>
{f"<div class='note'><ul>{notes}</ul></div>" if notes else ""}
{"".join(charts)}
</body></html>
"""
