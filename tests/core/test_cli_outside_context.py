"""Every ``workshop`` command runs from a shell: a fresh app, no application or request context
pushed by the test (the way the console script runs), through ``click.testing.CliRunner``."""

import click
from click.testing import CliRunner
from flask import current_app
from flask.cli import ScriptInfo

from workshop.cli import cli

# command path -> (arguments after the path, exit codes that mean "ran and answered").
# ``{tmp}`` is replaced by the test's temporary folder.
INVOCATIONS = {
    "backup": (["-o", "{tmp}/backup.zip"], {0}),
    "reap-runs": ([], {0}),
    "bench": (["--once"], {0}),
    "certificates blockers": (["--all"], {0}),
    "certificates list": ([], {0}),
    "certificates pdf": (["NOPE-2569-0001", "-o", "{tmp}/c.pdf"], {1}),
    "certificates bundle": (["NOPE-2569-0001", "-o", "{tmp}/c.zip"], {1}),
    "certificates trust-root": (["-o", "{tmp}/root.pem"], {0}),
    "create-user": (
        [
            "cli-admin",
            "--name",
            "Admin",
            "--role",
            "admin",
            "--all-centres",
            "--password",
            "x" * 12,
        ],
        {0, 1},
    ),
    "db current": ([], {0}),
    "db heads": ([], {0}),
    "eol check-trace": (["{tmp}/missing.blf", "--kit", "jazz-ev1"], {2}),
    "eol run": (["--kit", "no-such-kit", "--simulate"], {2}),
    "eol simulate": (["--list-faults"], {0}),
    "eol validate": (["--kit", "jazz-ev1"], {0}),
    "kits check": ([], {0}),
    "manuals check": ([], {0}),
    "restore": (["{tmp}/backup.zip"], {1}),
    "routes": ([], {0}),
    "shell": ([], {0}),
    "simulate": (["--list-faults"], {0}),
    "worker": (["--burst"], {0}),
}
# Commands that replace or block the process (a server); each has its own test elsewhere.
NOT_RUN_HERE = {"run", "serve", "demo"}
# Flask-Migrate's own subcommands beyond the two above are its business, not ours.
THIRD_PARTY_GROUPS = {"db"}


def _leaves(group: click.Group, info: ScriptInfo, prefix=()):
    with click.Context(group, obj=info) as ctx:  # closing it pops what listing pushed
        commands = [(name, group.get_command(ctx, name)) for name in group.list_commands(ctx)]
    for name, command in commands:
        path = (*prefix, name)
        if isinstance(command, click.Group):
            yield from _leaves(command, info, path)
        else:
            yield " ".join(path)


def test_every_command_is_exercised(app_factory):
    app = app_factory()
    leaves = set(_leaves(cli, ScriptInfo(create_app=lambda: app)))
    ours = {p for p in leaves if p.split()[0] not in THIRD_PARTY_GROUPS}
    assert ours - NOT_RUN_HERE <= set(INVOCATIONS), sorted(ours - NOT_RUN_HERE - set(INVOCATIONS))
    assert set(INVOCATIONS) <= leaves


def test_every_command_runs_without_a_pushed_context(app_factory, tmp_path):
    app = app_factory()
    assert not current_app  # nothing pushed: the commands must push what they need
    # Commands run in order; the backup written first is what restore is then given.
    for path in sorted(INVOCATIONS, key=lambda p: (p == "restore", p)):
        args, codes = INVOCATIONS[path]
        args = [a.replace("{tmp}", str(tmp_path)) for a in args]
        result = CliRunner().invoke(
            cli, [*path.split(), *args], obj=ScriptInfo(create_app=lambda: app), input=""
        )
        assert "outside of application context" not in result.output, (path, result.output)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(f"workshop {path}: {result.exception!r}\n{result.output}")
        assert result.exit_code in codes, (path, result.exit_code, result.output)
        assert not current_app
