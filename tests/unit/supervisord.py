"""A private supervisord for unit tests: the sections of its configuration that every such test needs."""

from __future__ import annotations

import textwrap
from pathlib import Path


def base_conf(root: Path) -> str:
    """supervisord's own sections, everything under ``root``: its socket (which supervisorctl and XML-RPC
    clients reach through ``[supervisorctl]``), log and pidfile. Programs and groups are appended."""
    return textwrap.dedent(f"""
        [unix_http_server]
        file={root}/supervisor.sock
        [supervisord]
        logfile={root}/supervisord.log
        pidfile={root}/supervisord.pid
        [rpcinterface:supervisor]
        supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
        [supervisorctl]
        serverurl=unix://{root}/supervisor.sock
    """)
