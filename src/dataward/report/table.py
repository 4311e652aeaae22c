"""``--format table``: the terminal view — one summary line, then findings grouped per store, worst first."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from dataward.findings import Finding, Severity
from dataward.report.base import register_format
from dataward.report.model import SEVERITIES, Report

STYLES = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


@register_format("table", suffixes=(".txt",))
def render_plain_table(report: Report) -> str:
    return render_table(report)


def render_table(report: Report, *, color: bool = False, width: int = 140) -> str:
    """Rendered to text; colour only when the caller knows it goes to a terminal."""
    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=color, no_color=not color, highlight=False)
    _print(console, report)
    return buf.getvalue()


def _print(console: Console, report: Report) -> None:
    s = report.summary()
    counts = ", ".join(f"{s['by_severity'][sev]} {sev}" for sev in SEVERITIES if s["by_severity"][sev])
    console.print(
        Text(
            f"dataward scan: {s['targets']} store(s), {s['reachable']} reachable, {s['exposed']} readable without "
            f"credentials; {s['total']} finding(s)" + (f": {counts}" if counts else "")
            + (f" ({s['suppressed']} suppressed by the baseline)" if s["suppressed"] else ""),
            style="bold",
        )
    )
    for label, findings in report.findings_by_store():
        target = report.target_for(label)
        head = label if target is None or target.name is None else f"{label}  {target.target}"
        role = f" [{target.role}]" if target is not None and target.role else ""
        table = Table(title=Text(f"{head}{role}", style="bold"), title_justify="left", expand=False, show_lines=False)
        table.add_column("severity", no_wrap=True)
        table.add_column("rule", no_wrap=True)
        table.add_column("object")
        table.add_column("finding")
        table.add_column("records", justify="right")
        for f in findings:
            table.add_row(*_row(f))
        if not findings:
            table.add_row(Text("-"), Text("-"), Text("-"), Text("nothing found"), Text(""))
        console.print(table)


def _row(f: Finding) -> tuple[Text, Text, Text, Text, Text]:
    """Plain Text cells: evidence like '[redacted]' or '[[store]]' must not be read as rich markup."""
    sev = Text(f.severity.label + (" (suppressed)" if f.suppressed else ""), style=STYLES[f.severity])
    text = Text(f.title, style="bold")
    if f.evidence:
        text.append(f"\n{f.evidence}")
    if f.policy:
        text.append(f"\npolicy: {f.policy}", style="dim")
    return sev, Text(f.rule), Text(f.object or ""), text, Text(f"{f.records:,}" if f.records else "")
