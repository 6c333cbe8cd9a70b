"""The `sunaba` command as an admin meets it: a version, and help on every argument."""

from __future__ import annotations

import argparse

import pytest

from sunaba.cli import build_parser, installed_version, main


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, (*path, name))


def test_version(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out.strip() == f"sunaba {installed_version()}"
    assert installed_version()[0].isdigit()


def test_every_command_and_argument_has_help():
    missing = []
    for path, parser in commands(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                continue
            if not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"sunaba {' '.join(path)} {action.dest}")
        if path and not parser.description and not _help_of(path):
            missing.append(f"sunaba {' '.join(path)} (the command itself)")
    assert missing == []


def _help_of(path: tuple[str, ...]) -> str | None:
    parser = build_parser()
    for name in path:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        choice = next((c for c in sub._choices_actions if c.dest == name), None)
        if name == path[-1]:
            return choice.help if choice else None
        parser = sub.choices[name]
    return None
