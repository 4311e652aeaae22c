"""The control plane (``dataward serve``): accounts and roles, the watch engine, and a JSON API over the state database.

:mod:`~dataward.serve.accounts` keeps users (Argon2id password hashes) and API tokens (SHA-256, shown once);
:mod:`~dataward.serve.views` builds the documents and does the actions the API and the pages share (findings,
suppressions, incidents, the overview, the audit log); :mod:`~dataward.serve.runner` runs the watcher in a
thread and :mod:`~dataward.serve.events` fans its transitions out to Server-Sent Events;
:mod:`~dataward.serve.app` builds the FastAPI application. docs/serve.md says what it does.
"""
