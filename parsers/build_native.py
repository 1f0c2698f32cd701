"""Compile the text path's modules with mypyc (see parsers/native.py).

python -m parsers.build_native build    compile now (exit 1 when it cannot)
python -m parsers.build_native ensure   compile only if missing or stale; never fails
python -m parsers.build_native status   say whether this process runs them compiled
"""

from __future__ import annotations

import argparse
import sys
import time

from parsers import native
from parsers.native import ENV_SWITCH, MODULES, build, freshness, native_dir, switched_off


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m parsers.build_native", description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "action",
        choices=["build", "ensure", "status"],
        help="build: compile now; ensure: compile only if missing or stale (never fails the caller: "
        "the sources then run as they are); status: say which is in use",
    )
    args = parser.parse_args(argv)
    where = native_dir()
    if args.action == "status":
        print(native.STATUS)
        return 0
    if args.action == "ensure":
        if switched_off():
            print(f"{ENV_SWITCH} is off: the parsers run from their sources", file=sys.stderr)
            return 0
        if freshness(where) is None:
            return 0
        print("compiling the text parsers with mypyc (~30 s, once per change of them) ...", file=sys.stderr)
    started = time.perf_counter()
    try:
        build(where)
    except RuntimeError as exc:
        last = str(exc).strip().splitlines()[-1] if str(exc).strip() else repr(exc)
        print(f"not compiled, the parsers run from their sources (~12% slower): {last}", file=sys.stderr)
        return 0 if args.action == "ensure" else 1
    print(f"compiled {len(MODULES)} modules into {where} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
