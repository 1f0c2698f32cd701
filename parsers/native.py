"""The text path's modules compiled with mypyc, used when they match the sources exactly.

``parsers.text``, ``parsers.wire``, ``parsers.story`` and ``parsers.fingerprint`` are plain,
fully typed Python. ``python -m parsers.build_native build`` (``./dev`` runs it when they change)
compiles them with mypyc (part of mypy) into C extensions kept under the virtualenv, beside
nothing in the source tree, with a manifest of the sources' digests. ``parsers/__init__``
calls :func:`activate` before any of them is imported: when the manifest's digests are
those of the sources on disk, the compiled modules are put ahead of the sources on the
package's path; otherwise (never built, no C compiler, a source edited since, or
``WIRE_INGEST_NATIVE=0``) the sources run as they are. The compiled modules give the same
rows byte for byte (``tests/test_native.py`` compares them); they parse ~12% faster.

All or nothing: the compiled modules call each other directly, so a stale one cannot be
left out while the others are used.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import io
import json
import os
import shutil
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

#: The modules compiled, in one mypyc group (one shared library and a shim a module).
MODULES: tuple[str, ...] = ("parsers.text", "parsers.wire", "parsers.story", "parsers.fingerprint")
#: The group's name: its shared library is the top-level module ``GROUP + "__mypyc"``.
GROUP = "wire_ingest_parsers"
#: ``0`` (or ``off``, ``no``, ``false``): run the sources even when compiled modules match.
ENV_SWITCH = "WIRE_INGEST_NATIVE"
#: Where the compiled modules are kept (default: under the virtualenv, by Python ABI).
ENV_DIR = "WIRE_INGEST_NATIVE_DIR"
MANIFEST = "manifest.json"
REBUILD = "rebuild with `python -m parsers.build_native build`"
PACKAGE_DIR = Path(__file__).resolve().parent

#: What :func:`activate` did in this process (``compiled ...`` or ``pure Python: why``).
STATUS = "pure Python: not activated"


def native_dir() -> Path:
    """Where the compiled modules live for this interpreter."""
    override = os.environ.get(ENV_DIR)
    if override:
        return Path(override)
    abi = sysconfig.get_config_var("SOABI") or f"py{sys.version_info[0]}{sys.version_info[1]}"
    return Path(sys.prefix) / "wire-ingest-native" / str(abi)


def _stem(module: str) -> str:
    """A module's file name without its suffix (``parsers.text``: ``text``)."""
    return module.rpartition(".")[2]


def source_digests(package_dir: Path = PACKAGE_DIR) -> dict[str, str]:
    """The sha256 of each compiled module's source file, by module name."""
    return {
        module: hashlib.sha256((package_dir / f"{_stem(module)}.py").read_bytes()).hexdigest() for module in MODULES
    }


def _suffix() -> str:
    return str(sysconfig.get_config_var("EXT_SUFFIX") or ".so")


def switched_off() -> bool:
    return os.environ.get(ENV_SWITCH, "").strip().lower() in {"0", "off", "no", "false"}


def freshness(where: Path, package_dir: Path = PACKAGE_DIR) -> str | None:
    """``None`` when ``where`` holds modules compiled from the sources in ``package_dir``;
    otherwise why not, in words an operator can act on."""
    manifest_path = where / MANIFEST
    if not manifest_path.is_file():
        return f"not built (no {manifest_path}); ./dev builds them, or `python -m parsers.build_native build`"
    try:
        manifest = json.loads(manifest_path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        return f"unreadable {manifest_path} ({exc}); {REBUILD}"
    if not isinstance(manifest, dict) or manifest.get("sources") != source_digests(package_dir):
        return f"compiled from other sources than these (edited since?); {REBUILD}"
    missing = [
        path.name
        for path in [where / f"{GROUP}__mypyc{_suffix()}"]
        + [where / "parsers" / f"{_stem(module)}{_suffix()}" for module in MODULES]
        if not path.is_file()
    ]
    if missing:
        return f"incomplete build in {where} (missing {', '.join(missing)}); {REBUILD}"
    return None


def activate(package_path: list[str], package_dir: Path = PACKAGE_DIR) -> str:
    """Put the compiled modules ahead of the sources on ``package_path`` (the package's
    ``__path__``) when they were compiled from exactly these sources; return what was done."""
    global STATUS
    if switched_off():
        STATUS = f"pure Python: {ENV_SWITCH}={os.environ.get(ENV_SWITCH)}"
        return STATUS
    if any(module in sys.modules for module in MODULES):
        STATUS = "pure Python: the parsers were imported before activation"
        return STATUS
    where = native_dir()
    why_not = freshness(where, package_dir)
    if why_not is not None:
        STATUS = f"pure Python: {why_not}"
        return STATUS
    shared_name = f"{GROUP}__mypyc"
    if shared_name not in sys.modules:
        spec = importlib.util.spec_from_file_location(shared_name, where / f"{shared_name}{_suffix()}")
        if spec is None or spec.loader is None:
            STATUS = f"pure Python: cannot load {shared_name} from {where}"
            return STATUS
        shared = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(shared)
        except ImportError as exc:  # built for another Python or a missing C library
            STATUS = f"pure Python: {shared_name} does not load ({exc}); {REBUILD}"
            return STATUS
        sys.modules[shared_name] = shared
    compiled = str(where / "parsers")
    if compiled not in package_path:
        package_path.insert(0, compiled)
    STATUS = f"compiled (mypyc): {', '.join(MODULES)} from {where}"
    return STATUS


def build(where: Path | None = None, package_dir: Path = PACKAGE_DIR) -> Path:
    """Compile the modules with mypyc into ``where`` (replacing what was there); raises
    ``RuntimeError`` with the compiler's message when they cannot be built."""
    try:
        from mypyc.build import mypycify

        setuptools = importlib.import_module("setuptools")  # untyped; imported only to build
    except ImportError as exc:
        raise RuntimeError(
            f"compiling needs mypy (mypyc) and setuptools: {exc}; pip install 'wire-ingest[dev]'"
        ) from exc
    where = where or native_dir()
    digests = source_digests(package_dir)
    where.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wire-ingest-native-") as scratch:
        scratch_dir = Path(scratch)
        paths = [str(package_dir / f"{_stem(module)}.py") for module in MODULES]
        cwd = os.getcwd()
        # mypy names each module from its path; from the package's parent they are parsers.*
        os.chdir(package_dir.parent)
        chatter = io.StringIO()  # mypyc's notes ("generator comprehension as list"), kept for a failure
        try:
            with contextlib.redirect_stdout(chatter):
                extensions = mypycify(paths, opt_level="3", target_dir=str(scratch_dir / "c"), group_name=GROUP)
                distribution = setuptools.Distribution({"name": "wire-ingest-native", "ext_modules": extensions})
                command = distribution.get_command_obj("build_ext")
                command.build_lib = str(scratch_dir / "lib")
                command.build_temp = str(scratch_dir / "tmp")
                distribution.run_command("build_ext")
        except (Exception, SystemExit) as exc:
            raise RuntimeError(f"{chatter.getvalue()}mypyc could not compile the parsers: {exc}") from exc
        finally:
            os.chdir(cwd)
        if source_digests(package_dir) != digests:
            raise RuntimeError("the sources changed while they were compiled; build again")
        staged = Path(tempfile.mkdtemp(prefix=f".{where.name}-", dir=where.parent))
        shutil.copytree(scratch_dir / "lib", staged, dirs_exist_ok=True)
        manifest = {
            "sources": digests,
            "modules": list(MODULES),
            "python": sys.version,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (staged / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    # Swap the whole directory: a process activating meanwhile sees the old build or the new one.
    old = where.with_name(f".{where.name}-old-{os.getpid()}")
    try:
        if where.exists():
            where.rename(old)
        staged.rename(where)
    except OSError as exc:  # another build swapped its own in meanwhile: fine if it is of these sources
        shutil.rmtree(staged, ignore_errors=True)
        if freshness(where, package_dir) is not None:
            raise RuntimeError(f"could not put the build in place at {where}: {exc}") from exc
    finally:
        shutil.rmtree(old, ignore_errors=True)
    return where
