"""The command line: ``python -m gan_lessons {lessons,render,badges,...}``.

Each sub-command is one function here; bad arguments print one line and exit 2.
"""

from __future__ import annotations

import argparse
import sys


class UsageError(Exception):
    """A bad command-line argument: printed as one line, exit code 2."""


def cmd_lessons(args) -> int:
    from .course import LESSONS, NOTEBOOKS

    for num, slug, title, learn in LESSONS:
        present = (NOTEBOOKS / f"{num}_{slug}.ipynb").exists()
        print(f"{num}  {title:<32} {learn}{'' if present else '  (not written yet)'}")
    return 0


def cmd_render(args) -> int:
    from pathlib import Path

    from .course import main_render

    for p in args.notebooks:
        if not Path(p).is_file():
            raise UsageError(f"render: {p!r} is not a notebook file")
    return main_render(args.notebooks, quick=args.quick)


def cmd_badges(args) -> int:
    from .course import update_badges

    for path in update_badges():
        print("updated", path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gan_lessons", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("lessons", help="list the lessons")
    p.set_defaults(func=cmd_lessons)

    p = sub.add_parser("render", help="re-execute notebooks in full mode and store their outputs")
    p.add_argument("notebooks", nargs="+")
    p.add_argument("--quick", action="store_true", help="render in quick mode (a preview; the tests reject it)")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("badges", help="rewrite the README lesson table and the Colab cells from pyproject.toml")
    p.set_defaults(func=cmd_badges)

    for register in _EXTRA_COMMANDS:
        register(sub)
    return parser


# Later sub-commands (train, sample, bench) register themselves here.
_EXTRA_COMMANDS: list = []




def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse already printed its one-line error
        return int(exit_.code or 0)
    try:
        return int(args.func(args) or 0)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
