"""The control plane (``dataward serve``): accounts and roles, and a JSON API over the state database.

:mod:`dataward.serve.accounts` keeps users (Argon2id password hashes) and API tokens (SHA-256, shown once);
:mod:`dataward.serve.app` builds the FastAPI application. Running the watch engine inside the server and the
HTML pages come next (docs/serve.md).
"""
