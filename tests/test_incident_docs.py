"""Every response action, its config keys and every obligation rule are documented in docs/incident.md."""

from __future__ import annotations

import tomllib
from pathlib import Path

from dataward.incident.actions.base import ACTIONS
from dataward.incident.obligations import OBLIGATIONS
from dataward.incident.respond import load_playbook

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_actions_and_their_keys_are_documented() -> None:
    text = (DOCS / "incident.md").read_text()
    for name, cls in ACTIONS.items():
        assert f"`{name}`" in text, f"action {name} missing from docs/incident.md"
        for key in cls.doc_config:
            assert f"`{key}`" in text or f"{key} =" in text, f"{name}.{key} missing from docs/incident.md"


def test_obligations_are_documented() -> None:
    text = (DOCS / "incident.md").read_text()
    assert not [r for r in OBLIGATIONS.names() if f"`{r}`" not in text]
    assert set(OBLIGATIONS.names()) == {"gdpr_art33", "gdpr_art34", "ca_1798_82", "tx_521_053", "wa_19_255_010", "ftc_hbnr"}


def test_example_playbook_loads(monkeypatch) -> None:
    monkeypatch.setenv("DEVICECLOUD_DB", "sqlite:///x.db")
    book = load_playbook(DOCS / "examples" / "playbook.toml")
    actions = [s["action"] for s in book.steps]
    assert actions == ["revoke_tokens", "unlink_integrations", "force_logout", "password_reset", "device_command"]
    assert set(actions) == set(ACTIONS.names())
    assert tomllib.loads((DOCS / "examples" / "playbook.toml").read_text())["response"]["scope"] == "affected"
