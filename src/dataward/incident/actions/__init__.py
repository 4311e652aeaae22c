"""Response actions, one module each (see base.py); the playbook names them in ``[[step]] action = ...``."""
