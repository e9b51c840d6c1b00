"""The `aiddeserts` command: unattended runs, validation and status of the Snakemake workflow.

    aiddeserts run [REGION ...] [--configfile FILE] [--cores N] [--profile P] [SNAKEMAKE FLAGS]
    aiddeserts check [REGION ...] [--configfile FILE]
    aiddeserts status [REGION ...] [--configfile FILE]

Exit codes (stable; scripts and the systemd unit rely on them):

====  =====================================================================================
0     done (``status``: the report was printed, whether or not work is pending)
1     other failure (a job crashed, Snakemake error, missing Snakefile...)
2     command-line usage error (argparse)
3     bad input: the config or an input file is invalid (an ``InputError``); fix the input
4     privacy audit failed: a job of a rule named ``privacy_audit*`` failed, so nothing of
      that region was published
5     another run is already working in this directory; nothing was done (try again later)
6     a download failed (network or server, after retries); nothing new was published
7     the machine refused a write: a read-only, not-writable or immutable folder (outputs/,
      data/processed/, logs/, .snakemake/) or a full disk; the message names the folder and
      the fix (chmod/chown, run as the owner, remount, free space); nothing new was published
130+  stopped by a signal (128 + its number: 143 for SIGTERM, 130 for Ctrl-C); Snakemake was
      asked to stop and waited for, so the next run starts cleanly
====  =====================================================================================

Unknown flags are passed through to Snakemake (e.g. ``--dry-run``, ``--forceall``,
``--set-resources``). A run always adds ``--rerun-incomplete``, so a run that was killed is
completed by the next one, and removes a stale Snakemake lock left by a killed run — but only
when no other process is still working in the directory (see :func:`live_runs`).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import fcntl
import functools
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_BAD_INPUT = 3
EXIT_PRIVACY = 4
EXIT_BUSY = 5
EXIT_DOWNLOAD = 6
EXIT_ENVIRONMENT = 7

#: Rules whose failure means the privacy audit failed (the contract with the audit rule).
PRIVACY_RULE_PREFIX = "privacy_audit"
#: Output of the last `aiddeserts run`, kept for the on_failure command (overwritten each run).
LAST_RUN_LOG = Path(".snakemake") / "aiddeserts" / "last-run.log"
CLI_LOCK = Path(".snakemake") / "aiddeserts-cli.lock"
REPO = Path(__file__).resolve().parents[2]


def default_snakefile() -> Path:
    """The workflow's Snakefile: next to the package's source tree (an editable install)."""
    return REPO / "Snakefile"


def resolve_profile(profile: str | None) -> str | None:
    """A profile name that exists under the repository's profiles/ becomes its path."""
    if profile and os.sep not in profile and (REPO / "profiles" / profile).is_dir():
        return str(REPO / "profiles" / profile)
    return profile


# ---------------------------------------------------------------------------------------------
# Classifying Snakemake's output into an exit code.

_RULE_ERROR = re.compile(r"Error in rule (\w+)")
_DOWNLOAD_ERROR = re.compile(r"^aiddeserts \(download failed\): ", re.MULTILINE)
_ENVIRONMENT_ERROR = re.compile(
    r"^aiddeserts \(environment\): |\[Errno (13|28|30|122)\]|No space left on device", re.MULTILINE)
#: The line a job refused a write by the machine prints (:func:`aiddeserts.logs.run_logged`).
_ENVIRONMENT_LINE = re.compile(r"^aiddeserts \(environment\): ", re.MULTILINE)
_INPUT_ERROR = re.compile(r"^(aiddeserts: |InputError\b)|\bInputError in ", re.MULTILINE)


#: snakemake-executor-plugin-slurm's first status check, seconds after a submission (its default).
SLURM_FIRST_CHECK_S = 40


def flag_value(args: Sequence[str], *names: str) -> str | None:
    """The value of the last ``--name value`` or ``--name=value`` among `args`."""
    value = None
    for i, arg in enumerate(args):
        name, sep, inline = arg.partition("=")
        if name in names:
            value = inline if sep else (args[i + 1] if i + 1 < len(args) else None)
    return value


def slurm_status_problem(profile: str | None, extra: Sequence[str]) -> str | None:
    """Why the SLURM executor could never learn that a job finished, or None.

    The plugin polls with squeue only when the cluster keeps finished jobs (MinJobAge) for three
    times its first check's delay, otherwise with sacct — which a cluster without an accounting
    database cannot answer, so the run would wait forever.
    """
    import yaml

    config_file = Path(profile) / "config.yaml" if profile else None
    settings = (yaml.safe_load(config_file.read_text()) or {}) if config_file and \
        config_file.is_file() else {}
    if (flag_value(extra, "--executor", "-e") or settings.get("executor")) != "slurm" or \
            shutil.which("sacct") is None:  # without sacct the plugin can only use squeue
        return None
    try:
        shown = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True,
                               timeout=30, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    config = dict(re.findall(r"^(\w+)\s*=\s*(.*?)\s*$", shown, re.MULTILINE))
    age = re.match(r"\d+", config.get("MinJobAge", ""))
    if config.get("AccountingStorageType") != "accounting_storage/none" or not age:
        return None
    min_job_age = int(age[0])
    first_check = int(flag_value(extra, "--slurm-init-seconds-before-status-checks") or settings.get(
        "slurm-init-seconds-before-status-checks", SLURM_FIRST_CHECK_S))
    command = flag_value(extra, "--slurm-status-command") or settings.get("slurm-status-command")
    if command == "squeue" and min_job_age >= 3 * first_check:
        return None
    fix = ["--slurm-status-command squeue"] if command != "squeue" else []
    if min_job_age < 3 * first_check:
        fix.append(f"--slurm-init-seconds-before-status-checks {max(min_job_age // 3, 1)}")
    return (f"this SLURM cluster has no accounting database (sacct cannot answer) and keeps "
            f"finished jobs for MinJobAge={min_job_age} s, so the executor would never see a job "
            f"finish and the run would wait forever. Fix: run with {' '.join(fix)} (or set it in "
            "the profile), or ask the cluster's admins for MinJobAge >= 120.")


def failed_rules(output: str) -> list[str]:
    """Rules whose jobs failed, in the order Snakemake reported them ("Error in rule X:")."""
    return list(dict.fromkeys(_RULE_ERROR.findall(output)))


def classify_failure(returncode: int, output: str) -> int:
    """Map Snakemake's return code and combined output onto this command's exit codes.

    The privacy audit wins over bad input (an audit failure must never look like a typo),
    unless every failed job was refused a write by the machine (a full disk stops an audit
    part too): each such job prints one ``aiddeserts (environment): `` line. Bad input is
    recognised by the ``aiddeserts: `` line every stage prints for an
    :class:`~aiddeserts.errors.InputError` or by ``InputError`` raised while parsing the config.
    """
    if returncode == 0:
        return EXIT_OK
    refused = len(_ENVIRONMENT_LINE.findall(output))
    if (any(rule.startswith(PRIVACY_RULE_PREFIX) for rule in failed_rules(output))
            and refused < len(_RULE_ERROR.findall(output))):
        return EXIT_PRIVACY
    if _DOWNLOAD_ERROR.search(output):
        return EXIT_DOWNLOAD
    if _ENVIRONMENT_ERROR.search(output):
        return EXIT_ENVIRONMENT
    if _INPUT_ERROR.search(output):
        return EXIT_BAD_INPUT
    if "LockException" in output or "Directory cannot be locked" in output:
        return EXIT_BUSY
    return EXIT_FAILURE


# ---------------------------------------------------------------------------------------------
# Overlapping runs.

def live_runs(workdir: Path, exclude: Sequence[int] = ()) -> list[int]:
    """Ids of live processes that run Snakemake (or a job of it) in `workdir` (Linux /proc).

    A Snakemake job's script runs as ``python .snakemake/scripts/...`` with the working directory
    as its cwd, so a job left running after its Snakemake was killed counts too.
    """
    found = []
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    target = workdir.resolve()
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) in exclude:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="ignore")
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:
            continue
        if "snakemake" in cmdline and cwd == target:
            found.append(int(entry.name))
    return sorted(found)


@contextmanager
def cli_lock(workdir: Path) -> Iterator[bool]:
    """Hold an exclusive flock on .snakemake/aiddeserts-cli.lock; yields False when another
    `aiddeserts` process holds it. The kernel releases it when the holder dies, even killed."""
    path = workdir / CLI_LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def stale_snakemake_lock(workdir: Path) -> bool:
    """True when Snakemake's own lock files exist in `workdir`/.snakemake/locks."""
    locks = workdir / ".snakemake" / "locks"
    return locks.is_dir() and any(locks.iterdir())


# ---------------------------------------------------------------------------------------------
# Running Snakemake.

@dataclass
class Invocation:
    """What every subcommand needs to call Snakemake the same way."""

    snakefile: Path
    workdir: Path
    configfile: str | None
    regions: list[str]


def snakemake_command(inv: Invocation, *flags: str, targets: Sequence[str] = ()) -> list[str]:
    """The Snakemake command line; targets come before --configfile (it takes several values)."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(inv.snakefile), "-d", str(inv.workdir),
           *targets, *flags]
    if inv.configfile:
        cmd += ["--configfile", inv.configfile]
    return cmd


def region_targets(regions: Sequence[str]) -> list[str]:
    """One published file per region: asking for it builds and publishes the whole region."""
    return [f"outputs/{region}/manifest.json" for region in regions]


#: What Snakemake prints once its scheduler has taken an interrupt (and cancels its jobs).
SNAKEMAKE_STOPPING = "Terminating processes on user request"
#: How long the CLI waits for that line before it interrupts Snakemake again, and how many
#: times at most (with ``--quiet`` the line may never come, and an interrupt that lands while
#: Snakemake cancels its jobs could cut that short).
INTERRUPT_AGAIN_S = 2.0
INTERRUPTS_AGAIN = 2


def _interrupt_until_heard(proc: subprocess.Popen, heard: threading.Event) -> None:
    """Interrupt Snakemake again while it runs on without saying it stops: its log handler
    swallows a KeyboardInterrupt that lands while it writes a line (snakemake/logging.py), and
    the run would then go on to the end."""
    for _ in range(INTERRUPTS_AGAIN):
        if heard.wait(INTERRUPT_AGAIN_S) or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)


def stream(cmd: Sequence[str], cwd: Path, log_path: Path | None,
           extra_env: Mapping[str, str] | None = None, handed_fds: Sequence[int] = ()
           ) -> tuple[int, str]:
    """Run `cmd`, echoing its combined output to stderr (and `log_path`); return code and text.
    `handed_fds`: descriptors `cmd` inherits, closed here once it has them."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(extra_env or {})}
    lines: list[str] = []
    log = None
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115
    stopped: list[int] = []
    heard = threading.Event()
    running: list[subprocess.Popen] = []
    interrupted: list[bool] = []

    def interrupt(proc: subprocess.Popen) -> None:
        if interrupted:  # once: the thread below sends it again if need be
            return
        interrupted.append(True)
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)
        threading.Thread(target=_interrupt_until_heard, args=(proc, heard), daemon=True).start()

    def stop(signum: int, _frame: object) -> None:
        # A supervisor (timeout, systemd, cron wrapper) signals only this process: Snakemake
        # is interrupted as by Ctrl-C (it cancels its jobs, cluster jobs too) and waited for,
        # so no orphan keeps the directory locked. Not SIGTERM: Snakemake's SIGTERM handler
        # takes its scheduler's lock, and a SIGTERM that lands while the scheduler holds it
        # (choosing jobs) hangs Snakemake for good.
        stopped.append(signum)
        if running:
            interrupt(running[0])

    # Caught before Snakemake starts: a caught signal is reset to its default in a new program,
    # an ignored one stays ignored. A shell starts a background job (`aiddeserts run &` in a
    # script, a cron wrapper) with SIGINT ignored, and a Snakemake started from it would then
    # never hear the interrupt and run on to the end.
    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        with subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, errors="replace",
                              pass_fds=handed_fds) as proc:
            running.append(proc)
            for fd in handed_fds:
                os.close(fd)
            handed_fds = ()
            if stopped:  # signalled while Snakemake was starting
                interrupt(proc)
            assert proc.stdout is not None
            for line in proc.stdout:
                if stopped and SNAKEMAKE_STOPPING in line:
                    heard.set()
                lines.append(line)
                sys.stderr.write(line)
                if log:
                    log.write(line)
                    log.flush()
            returncode = proc.wait()
    finally:
        for fd in handed_fds:  # Snakemake could not be started
            with contextlib.suppress(OSError):
                os.close(fd)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if log:
            log.close()
    if stopped:
        print(f"aiddeserts: stopped by signal {stopped[0]} ({signal.Signals(stopped[0]).name}); "
              "Snakemake was stopped cleanly; the next run completes the work.", file=sys.stderr)
        return 128 + stopped[0], "".join(lines)
    return returncode, "".join(lines)


def config_path(inv: Invocation) -> Path:
    """The config file the run reads (its --configfile, else config/config.yaml)."""
    path = Path(inv.configfile) if inv.configfile else inv.workdir / "config" / "config.yaml"
    return path if path.is_absolute() else inv.workdir / path


@functools.cache
def _loaded_config(path: Path) -> dict:
    """The config at `path`, read and validated once per command (InputError if invalid)."""
    from aiddeserts.config import load_config

    return load_config(path)


def run_config(inv: Invocation) -> dict:
    """The run's config (:func:`config_path`), validated."""
    return _loaded_config(config_path(inv))


def warm_start_configured(inv: Invocation) -> bool:
    """Whether the config asks for a warm server (`warm_start`), on a system that has one."""
    return os.name == "posix" and bool(run_config(inv).get("warm_start"))


def validate_regions(inv: Invocation) -> int:
    """Validate the config (schema) and the requested region names before starting Snakemake."""
    from aiddeserts.errors import InputError

    path = config_path(inv)
    try:
        config = run_config(inv)
    except InputError as exc:
        print(f"aiddeserts: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    unknown = [r for r in inv.regions if r not in config["regions"]]
    if unknown:
        print(f"aiddeserts: file {path}: no region named {', '.join(map(repr, unknown))}. "
              f"Fix: use one of {', '.join(sorted(config['regions']))}.", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK


#: Bytes a probe writes into each folder a run writes to: enough to need a free block.
PROBE_BYTES = 64 * 1024


def written_folders(workdir: Path, regions: Sequence[str]) -> list[Path]:
    """The folders a run of `regions` writes to (each region's processed folder, outputs/ for
    the link swap and its version folders, logs/, .snakemake/)."""
    from aiddeserts.paths import LOGS, PROCESSED, for_region

    folders = [workdir / ".snakemake", workdir / "outputs", workdir / "outputs" / ".versions"]
    for region in regions:
        folders += [workdir / for_region(PROCESSED, region),
                    workdir / "outputs" / ".versions" / region, workdir / for_region(LOGS, region)]
    return folders


def unwritable_folder(folders: Sequence[Path]) -> str | None:
    """The environment message for the first folder (or, when it does not exist yet, the
    nearest existing parent) where a small file cannot be written and removed, else None.
    A real write, not os.access: root passes permission checks but not a read-only mount, an
    immutable (chattr +i) folder or a full disk."""
    import tempfile

    from aiddeserts.errors import ENVIRONMENT_ERRNOS, environment_message

    for folder in folders:
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not folder.is_dir():
            continue
        try:
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".aiddeserts-probe-") as probe:
                probe.write(b"\0" * PROBE_BYTES)
                probe.flush()
                os.fsync(probe.fileno())
        except OSError as exc:
            if exc.errno in ENVIRONMENT_ERRNOS:
                return environment_message(folder, exc.errno)
            raise
    return None


def configured_regions(inv: Invocation) -> list[str]:
    """The requested regions, or every region of the (valid) config."""
    return list(inv.regions) or sorted(run_config(inv)["regions"])


def print_maps(inv: Invocation) -> None:
    """Say where each region's map is, after a run that succeeded."""
    for region in configured_regions(inv):
        html = inv.workdir / "outputs" / region / "map.html"
        if html.exists():
            print(f"Map of {region}: {html}")


def run_on_failure(command: str, code: int, workdir: Path, log_path: Path) -> None:
    """Run the user's on_failure shell command with the failure described in its environment."""
    reason = {EXIT_BAD_INPUT: "bad input", EXIT_PRIVACY: "privacy audit failed",
              EXIT_BUSY: "another run is active", EXIT_DOWNLOAD: "download failed",
              EXIT_ENVIRONMENT: "environment"}.get(code, "failure")
    env = {**os.environ, "AIDDESERTS_EXIT_CODE": str(code), "AIDDESERTS_REASON": reason,
           "AIDDESERTS_WORKDIR": str(workdir), "AIDDESERTS_LOG": str(log_path)}
    try:
        subprocess.run(command, shell=True, cwd=workdir, env=env, check=False, timeout=300)
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"aiddeserts: the on_failure command failed: {exc}", file=sys.stderr)


def cmd_run(inv: Invocation, cores: str | None, profile: str | None, extra: list[str],
            on_failure: str | None) -> int:
    """`aiddeserts run`: build (and publish) all or the named regions."""
    code = validate_regions(inv)
    log_path = inv.workdir / LAST_RUN_LOG
    if code == EXIT_OK:  # before anything is written, not even the run's log
        problem = unwritable_folder(written_folders(inv.workdir, configured_regions(inv)))
        if problem:
            print(f"aiddeserts (environment): {problem}", file=sys.stderr)
            code = EXIT_ENVIRONMENT
    if code == EXIT_OK:
        code = _locked_run(inv, cores, profile, extra, log_path)
        if code == EXIT_OK:
            print_maps(inv)
    if code not in (EXIT_OK, EXIT_BUSY) and code <= 128 and on_failure:
        run_on_failure(on_failure, code, inv.workdir, log_path)
    return code


def _locked_run(inv: Invocation, cores: str | None, profile: str | None, extra: list[str],
                log_path: Path) -> int:
    with cli_lock(inv.workdir) as acquired:
        others = live_runs(inv.workdir, exclude=(os.getpid(),))
        if not acquired or others:
            print(f"aiddeserts: another run is working in {inv.workdir} (process "
                  f"{', '.join(map(str, others)) or 'holding ' + str(CLI_LOCK)}); nothing done. "
                  "Fix: wait for it to finish (a scheduled run will retry next time).",
                  file=sys.stderr)
            return EXIT_BUSY
        if stale_snakemake_lock(inv.workdir):
            # No live process works here, so the lock was left by a killed run.
            print("aiddeserts: removing the stale Snakemake lock of a run that was killed.",
                  file=sys.stderr)
            subprocess.run(snakemake_command(inv, "--unlock"), cwd=inv.workdir,
                           capture_output=True, check=False)
        flags = ["--rerun-incomplete"]
        profile = resolve_profile(profile)
        if profile:
            flags += ["--profile", profile]
        slurm_problem = slurm_status_problem(profile, extra)
        if slurm_problem:
            print(f"aiddeserts: {slurm_problem}", file=sys.stderr)
            return EXIT_FAILURE
        if cores:
            flags += ["--cores", cores]
        elif not profile:
            flags += ["--cores", "all"]
        extra_env: dict[str, str] = {}
        handed: list[int] = []
        early = None
        if not profile and not extra and warm_start_configured(inv):
            from aiddeserts import warmstart

            # A plain local run: its warm server starts now and preloads while Snakemake
            # starts; the Snakefile's onstart takes it (or stops it: no job to run).
            started = warmstart.start_early()
            if started is not None:  # None: none can start now (the run's onstart retries)
                extra_env, descriptor, early = started
                handed = [descriptor]
        try:
            returncode, output = stream(
                snakemake_command(inv, *flags, *extra, targets=region_targets(inv.regions)),
                inv.workdir, log_path, extra_env, handed)
        finally:
            if early is not None:
                warmstart.end_early(early)
        if returncode > 128:  # stopped by a signal: say so (128 + its number), not "failure"
            return returncode
        return classify_failure(returncode, output)


# ---------------------------------------------------------------------------------------------
# Status.

@dataclass(frozen=True)
class FileStatus:
    """One row of ``snakemake --summary``."""

    path: str
    rule: str
    status: str
    plan: str


def parse_summary(text: str) -> list[FileStatus]:
    """Rows of ``snakemake --summary`` output (a tab-separated table after Snakemake's banner)."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("output_file\t")), None)
    if start is None:
        return []
    rows = csv.DictReader(io.StringIO("\n".join(lines[start:])), delimiter="\t")
    return [FileStatus(r["output_file"], r["rule"], r["status"], r["plan"]) for r in rows
            if r.get("output_file") and r.get("plan") is not None]


def region_of(path: str) -> str | None:
    """The region a workflow file belongs to (outputs/<r>/..., data/processed/<r>/...)."""
    parts = Path(path).parts
    if len(parts) >= 2 and parts[0] == "outputs":
        return parts[1]
    if len(parts) >= 3 and parts[:2] == ("data", "processed"):
        return parts[2]
    return None


#: Snakemake's summary statuses in plain words (others are shown as Snakemake words them).
REASONS = {
    "ok": "an earlier step reruns",
    "params changed": "params changed (a config value or the package code it runs)",
}


def status_report(rows: Sequence[FileStatus], regions: Sequence[str]) -> str:
    """Plain-text report: per region, up to date, or which steps would rerun and why."""
    out = []
    for region in regions:
        mine = [r for r in rows if region_of(r.path) == region]
        pending = [r for r in mine if r.plan != "no update"]
        if not mine:
            out.append(f"{region}: not built yet")
        elif not pending:
            out.append(f"{region}: up to date")
        else:
            out.append(f"{region}: would rerun {len({r.rule for r in pending})} step(s)")
            for rule in dict.fromkeys(r.rule for r in pending):
                reasons = sorted({REASONS.get(r.status, r.status) for r in pending
                                  if r.rule == rule})
                out.append(f"  {rule}: {'; '.join(reasons)}")
    return "\n".join(out)


def cmd_status(inv: Invocation, extra: list[str]) -> int:
    """`aiddeserts status`: what is up to date and what would rerun, and why."""
    code = validate_regions(inv)
    if code != EXIT_OK:
        return code
    regions = inv.regions or sorted(run_config(inv)["regions"])
    result = subprocess.run(
        snakemake_command(inv, "--summary", "--cores", "1", *extra,
                          targets=region_targets(regions)),
        cwd=inv.workdir, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        return classify_failure(result.returncode, result.stdout + result.stderr)
    print(status_report(parse_summary(result.stdout), regions))
    if stale_snakemake_lock(inv.workdir):
        running = live_runs(inv.workdir, exclude=(os.getpid(),))
        print("note: a run is in progress (process " + ", ".join(map(str, running)) + ")"
              if running else "note: a killed run left a lock; the next `aiddeserts run` "
              "removes it and completes the run")
    return EXIT_OK


def cmd_check(inv: Invocation) -> int:
    """`aiddeserts check`: validation only (aiddeserts.check.run_check)."""
    try:
        from aiddeserts.check import run_check
    except ModuleNotFoundError as exc:
        if exc.name != "aiddeserts.check":
            raise
        print("aiddeserts: `check` is not available in this installation (no aiddeserts.check).",
              file=sys.stderr)
        return EXIT_FAILURE
    path = inv.configfile or str(inv.workdir / "config" / "config.yaml")
    # run_check returns 0 (inputs pass) or 2 (bad input); the CLI's code for bad input is 3.
    return EXIT_OK if int(run_check(path, inv.regions)) == 0 else EXIT_BAD_INPUT


# ---------------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aiddeserts", description="Map mutual aid deserts: run, check or inspect the "
        "workflow. Flags not listed here are passed to Snakemake.",
        epilog="Exit codes: 0 done, 1 other failure, 2 usage, 3 bad input, "
        "4 privacy audit failed, 5 another run is active, 6 download failed, "
        "7 a folder cannot be written or the disk is full.")
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("regions", nargs="*", metavar="REGION",
                        help="regions to process (default: every region of the config)")
    common.add_argument("--configfile", help="config file (default: config/config.yaml)")
    common.add_argument("--directory", "-d", default=".",
                        help="working directory: inputs' relative paths, data/, outputs/, logs/")
    common.add_argument("--snakefile", help="the workflow's Snakefile (default: the installed one)")
    run = sub.add_parser("run", parents=[common], help="build and publish regions")
    run.add_argument("--cores", "-c", help="cores to use (default: all, or the profile's)")
    run.add_argument("--profile", help="Snakemake profile: a path or a name under profiles/ "
                     "(default, slurm)")
    run.add_argument("--on-failure", default=os.environ.get("AIDDESERTS_ON_FAILURE"),
                     help="shell command run when the run fails (default: $AIDDESERTS_ON_FAILURE)"
                     "; it gets AIDDESERTS_EXIT_CODE, AIDDESERTS_REASON, AIDDESERTS_LOG")
    sub.add_parser("check", parents=[common], help="validate config and inputs only")
    sub.add_parser("status", parents=[common], help="what is up to date and what would rerun")
    messages = sub.add_parser("messages", help="the map's translations: check one, or write "
                              "the template a new language is translated from")
    what = messages.add_subparsers(dest="messages_command", required=True)
    check = what.add_parser("check", help="list the messages LANGUAGE does not translate "
                            "(exit 1 when any)")
    check.add_argument("language", metavar="LANGUAGE", help="language code, e.g. es")
    template = what.add_parser("template", help="write the .pot template (every message)")
    template.add_argument("--output", "-o", default="-", help="file to write (default: stdout)")
    return parser


def cmd_messages(args: argparse.Namespace) -> int:
    """`messages check LANGUAGE` / `messages template`: see :mod:`aiddeserts.i18n`."""
    from aiddeserts import i18n

    if args.messages_command == "template":
        data = i18n.template_catalogue()
        if args.output == "-":
            sys.stdout.write(data.decode("utf-8"))
        else:
            Path(args.output).write_bytes(data)
        return 0
    if args.language not in i18n.available_languages():
        print(f"aiddeserts: no messages for language {args.language!r} (available: "
              f"{', '.join(i18n.available_languages())}). Fix: add "
              f"src/aiddeserts/i18n/locales/{args.language}/LC_MESSAGES/core.po "
              "(config/README.md, Languages).", file=sys.stderr)
        return EXIT_BAD_INPUT
    missing = i18n.missing_messages(args.language)
    for message in missing:
        print(message)
    total = len({m if isinstance(m, str) else m[0] for _f, _l, m in i18n.extracted_messages()})
    print(f"{args.language}: {total - len(missing)} of {total} messages translated"
          + (f"; {len(missing)} missing (listed above)." if missing else "."), file=sys.stderr)
    return 1 if missing else 0


def split_passthrough(parser: argparse.ArgumentParser, argv: Sequence[str]
                      ) -> tuple[list[str], list[str]]:
    """Take Snakemake's flags and their values out of `argv` before our parser sees them, so
    `--until privacy_audit` passes `privacy_audit` to Snakemake instead of taking it for a
    region. Which flags take values is asked of Snakemake's own parser (only when needed)."""
    ours = {o for a in parser._subparsers._group_actions[0].choices["run"]._actions  # noqa: SLF001
            for o in a.option_strings}
    argv = list(argv)
    candidates = [i for i, a in enumerate(argv[:-1]) if a.startswith("-") and "=" not in a
                  and a not in ours and a != "--" and not argv[i + 1].startswith("-")]
    if not candidates:
        return argv, []
    from snakemake.cli import get_argument_parser

    nargs = {o: a.nargs for a in get_argument_parser()._actions for o in a.option_strings}  # noqa: SLF001
    kept, passed, i = [], [], 0
    while i < len(argv):
        token = argv[i]
        takes = nargs.get(token, 0) if token not in ours else 0
        if takes == 0 or token in ours or "=" in token:
            kept.append(token)
            i += 1
            continue
        passed.append(token)
        i += 1
        many = takes in ("+", "*")
        while i < len(argv) and not argv[i].startswith("-"):
            passed.append(argv[i])
            i += 1
            if not many:
                break
    return kept, passed


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["messages"]:
        return cmd_messages(parser.parse_args(argv))
    argv, passthrough = split_passthrough(parser, argv)
    args, extra = parser.parse_known_args(argv)
    extra = passthrough + extra
    if extra and args.command == "check":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    extra = [a for a in extra if a != "--"]
    snakefile = Path(args.snakefile) if args.snakefile else default_snakefile()
    if not snakefile.exists():
        print(f"aiddeserts: no Snakefile at {snakefile}. Fix: pass --snakefile or install the "
              "package from a clone of the repository (pip install -e .).", file=sys.stderr)
        return EXIT_FAILURE
    configfile = str(Path(args.configfile).resolve()) if args.configfile else None
    inv = Invocation(snakefile, Path(args.directory).resolve(), configfile, list(args.regions))
    if args.command == "run":
        return cmd_run(inv, args.cores, args.profile, extra, args.on_failure)
    if args.command == "status":
        return cmd_status(inv, extra)
    return cmd_check(inv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
