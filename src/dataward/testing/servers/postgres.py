"""The tests' PostgreSQL: dataward.localservers' server, its initdb cluster copied from a per-process template."""

from __future__ import annotations

from dataward.localservers.postgres import PostgresServer as _PostgresServer
from dataward.testing.servers.templates import copy_template, keep_template

_CONF_MARK = "\n# dataward test server\n"  # where localservers appends its settings to initdb's postgresql.conf


class PostgresServer(_PostgresServer):
    """``dataward.localservers.postgres.PostgresServer`` whose cluster is a copy of the first one initdb made.

    The copy keeps the template's superuser password (``dw_admin``, random per test process); the server's
    settings, pg_hba rules, TLS files, roles and databases are its own, as with a fresh initdb.
    """

    def _prepare(self) -> None:
        template_password = copy_template("postgres", self.data_dir)
        if template_password is None:
            super()._prepare()
            conf = self.data_dir / "postgresql.conf"
            text = conf.read_text()
            conf.write_text(text.split(_CONF_MARK)[0])  # the template holds initdb's own settings only
            keep_template("postgres", self.data_dir, self.admin_password)
            conf.write_text(text)
            return
        self.admin_password = template_password
        self._configure()
