"""A playbook's mistakes are errors before anything runs, never a silent no-op (issue 13 item 6)."""

from __future__ import annotations

from pathlib import Path

import pytest
from incident_helpers import cloud_tables, write_store

from dataward.errors import ConfigError, DatawardError
from dataward.incident import ops
from dataward.incident.respond import load_playbook, run_playbook
from dataward.incident.store import open_incident_db


def _playbook(tmp_path: Path, response: str, step: str) -> Path:
    path = tmp_path / "playbook.toml"
    path.write_text(f"[response]\n{response}\n\n[[step]]\n{step}\n")
    return path


@pytest.mark.parametrize(
    "response, step, message",
    [
        ("batch = 0", 'action = "force_logout"', "batch"),
        ('batch = "x"', 'action = "force_logout"', "batch"),
        ("batch = -5", 'action = "force_logout"', "batch"),
        ("", 'action = "unlink_integrations"\nproviders = "alexa"', "providers"),
        ("", 'action = "unlink_integrations"\nproviders = [1, 2]', "providers"),
        ("", 'action = "unlink_integrations"\nprovider = ["alexa"]', "Did you mean 'providers'?"),
        ("", 'action = "revoke_tokens"\nvai = "endpoint"', "Did you mean 'via'?"),
        ("", 'action = "revoke_tokens"\nvia = "smtp"', "via"),
    ],
)
def test_a_playbook_mistake_is_one_sentence(tmp_path: Path, response: str, step: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_playbook(_playbook(tmp_path, response, step))
    assert message in info.value.render()


def test_an_unknown_provider_is_refused_before_anything_changes(tmp_path: Path) -> None:
    prod = write_store(f"sqlite:///{tmp_path}/prod.db", cloud_tables(200, 5))
    playbook = load_playbook(_playbook(tmp_path, f'database = "{prod}"\nscope = "all"',
                                       'action = "unlink_integrations"\nproviders = ["alxa"]'))
    with open_incident_db(str(tmp_path / "inc.db")) as db:
        ops.open_incident(db, "leak", "analytics-copy", "2019-12-04", "2019-12-26")
        with pytest.raises(DatawardError) as info:
            run_playbook(db, "leak", playbook)
    assert "alxa" in info.value.render() and "Did you mean 'alexa'?" in info.value.render()
