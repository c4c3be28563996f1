"""The ``galaxylab`` command: Typer verbs over the modules of this package.

Each verb imports its module when it runs: ``galaxylab check`` does not load the planner, the
playbook runner, testinfra or the Redis client it never uses itself (its start-up is part of every
re-check an operator waits for).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import click
import typer

from galaxylab.cli.errors import USAGE, OperatorError
from galaxylab.cli.output import Output
from galaxylab.cli.project import Project

DEFAULT_INVENTORY = "inventory/local"

app = typer.Typer(
    name="galaxylab",
    help="Bring the Galaxy lab up, check it, see what runs, read logs, tear it down.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Inventory = Annotated[
    str,
    typer.Option("--inventory", "-i", help="Ansible inventory of the lab (a path in the repository or absolute)"),
]
Json = Annotated[bool, typer.Option("--json", help="print one JSON document instead of tables")]
Boundaries = Annotated[list[str] | None, typer.Argument(help="boundaries (default: all)", show_default=False)]
Extra = Annotated[
    list[str] | None,
    typer.Option("--extra-vars", "-e", help="passed to ansible-playbook as -e (repeatable)", show_default=False),
]


def _extra(values: list[str] | None) -> list[str]:
    return [arg for value in values or [] for arg in ("-e", value)]


def _exit(code: int) -> None:
    raise typer.Exit(code)


@app.command()
def up(
    boundaries: Boundaries = None,
    inventory: Inventory = DEFAULT_INVENTORY,
    extra_vars: Extra = None,
    json_output: Json = False,
) -> None:
    """Bring up all or the named boundaries (ansible-playbook playbooks/up.yml); a re-run heals."""
    from galaxylab.cli import provision

    out = Output(json=json_output)
    _exit(provision.up(out, Project.here(), inventory, boundaries or [], _extra(extra_vars)))


@app.command()
def check(
    boundaries: Boundaries = None,
    keyword: Annotated[str | None, typer.Option("-k", help="only tests matching this pytest -k expression")] = None,
    no_disruptive: Annotated[
        bool, typer.Option("--no-disruptive", help="skip tests that stop, kill or script a component")
    ] = False,
    workers: Annotated[int | None, typer.Option("--workers", "-n", help="xdist workers (one boundary: 0)")] = None,
    inventory: Inventory = DEFAULT_INVENTORY,
    json_output: Json = False,
) -> None:
    """State checks and the boundary suites against the lab that is up; reports in reports/<run-id>/."""
    from galaxylab.cli import checks

    out = Output(json=json_output)
    _exit(checks.check(out, Project.here(), inventory, boundaries or [], keyword, no_disruptive, workers))


@app.command()
def idempotence(
    inventory: Inventory = DEFAULT_INVENTORY,
    extra_vars: Extra = None,
    json_output: Json = False,
) -> None:
    """Re-run bring-up and fail on any change, naming each changed task and host with its diff."""
    from galaxylab.cli import provision

    out = Output(json=json_output)
    _exit(provision.idempotent(out, Project.here(), inventory, _extra(extra_vars)))


@app.command()
def status(
    boundaries: Boundaries = None,
    inventory: Inventory = DEFAULT_INVENTORY,
    json_output: Json = False,
) -> None:
    """Every program of the boundaries: state, pid, uptime, ports and readiness, from every host."""
    from galaxylab.cli import status as status_verbs

    out = Output(json=json_output)
    _exit(status_verbs.status(out, Project.here(), inventory, boundaries or []))


@app.command()
def logs(
    boundary: Annotated[str, typer.Argument(help="the boundary")],
    program: Annotated[
        str | None, typer.Argument(help="a component (gateway, redis, ...) or program name; default all")
    ] = None,
    lines: Annotated[int, typer.Option("--lines", "-n", help="lines from the end of each log")] = 50,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="keep printing what the logs gain")] = False,
    inventory: Inventory = DEFAULT_INVENTORY,
    json_output: Json = False,
) -> None:
    """The programs' logs, from whichever host runs them (secrets redacted)."""
    from galaxylab.cli import status as status_verbs

    out = Output(json=json_output)
    _exit(status_verbs.logs(out, Project.here(), inventory, boundary, program, lines, follow and not json_output))


@app.command()
def audit(
    log: Annotated[
        list[Path] | None,
        typer.Option("--log", help="another output to search, e.g. a bring-up at -vvvv (repeatable)"),
    ] = None,
    json_output: Json = False,
) -> None:
    """Search every output of the lab (program logs, configs, reports, manifests, --log files) for every
    secret value, after planting a canary that must be found; fails on any leak or a missed canary."""
    from galaxylab.cli import audit as audit_verb

    out = Output(json=json_output)
    _exit(audit_verb.audit(out, Project.here(), log or []))


@app.command()
def down(
    boundaries: Boundaries = None,
    inventory: Inventory = DEFAULT_INVENTORY,
    extra_vars: Extra = None,
    json_output: Json = False,
) -> None:
    """Tear down all (playbooks/down.yml) or the named boundaries, then check nothing of them is left."""
    from galaxylab.cli import provision

    out = Output(json=json_output)
    _exit(provision.down(out, Project.here(), inventory, boundaries or [], _extra(extra_vars)))


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; an operator mistake is one line on stderr (and a JSON error with --json), exit 2."""
    args = sys.argv[1:] if argv is None else argv
    try:
        # Without standalone mode click returns a verb's typer.Exit status instead of exiting.
        code = app(args=args, prog_name="galaxylab", standalone_mode=False)
    except OperatorError as error:
        if "--json" in args:
            sys.stdout.write(json.dumps({"error": error.code, "message": error.message}) + "\n")
        sys.stderr.write(error.line() + "\n")
        return USAGE
    except typer.Exit as done:
        return done.exit_code
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.exceptions.Abort:
        sys.stderr.write("galaxylab: aborted\n")
        return 130
    except KeyboardInterrupt:
        sys.stderr.write("galaxylab: interrupted\n")
        return 130
    return code if isinstance(code, int) else 0
