"""A one-node SLURM cluster on localhost for the tests: munged, slurmctld and slurmd from Debian's
``slurm-wlm`` and ``munge``, as a small site without an accounting database runs them.

Everything lives in one temporary directory — the munge key and socket, ``slurm.conf``, the state
and spool directories, the daemons' logs — and the daemons listen on free ports. Client commands
(``sbatch``, ``squeue``, ``scontrol``) find the cluster through ``SLURM_CONF`` in
:attr:`SlurmCluster.env`; the one system file is a symlink ``/etc/slurm/slurm.conf`` to it, made
only where no SLURM configuration exists: the executor's job step drops ``SLURM_CONF`` before
its ``srun``, which then reads the default path, as on a real site. :meth:`SlurmCluster.stop`
ends the three daemons it started, by their process ids, and removes the symlink.

:func:`unavailable` says why a cluster cannot be started here (not root, packages missing and no
apt-get); under CI (``CI=true``) as root it installs the packages first.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = ("slurm-wlm", "munge")
DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "sinfo", "scontrol", "scancel")
#: Seconds a finished job stays visible to squeue/scontrol (the plugin needs ≥ 3 × its first
#: status-check delay to use squeue; the tests read finished jobs' requests with scontrol).
MIN_JOB_AGE_S = 3600
PARTITION = "debug"
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
TEMP_PREFIX = "aid-slurm-"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def program(name: str) -> str | None:
    """Path of a SLURM or munge program (the daemons are in /usr/sbin, not always on PATH)."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")


def missing_programs() -> list[str]:
    return [name for name in (*DAEMONS, *CLIENTS) if program(name) is None]


def install_packages() -> str | None:
    """apt-get install slurm-wlm and munge; None on success, else what went wrong."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    lock = ["-o", "DPkg::Lock::Timeout=300"]
    for cmd in (["apt-get", *lock, "update", "-qq"],
                ["apt-get", *lock, "install", "-y", "-qq", "--no-install-recommends", *PACKAGES]):
        result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            return f"`{' '.join(cmd)}` failed: {(result.stderr or result.stdout).strip()[-500:]}"
    return None


def unavailable() -> str | None:
    """Why a local cluster cannot run here, or None when it can (installing under CI)."""
    if os.geteuid() != 0:
        return "the local SLURM cluster runs its daemons as root (SlurmUser=root); not root"
    if not missing_programs():
        return system_conf_in_use()
    if shutil.which("apt-get") is None:
        return f"{', '.join(missing_programs())} not installed and no apt-get to install " \
               f"{' '.join(PACKAGES)}"
    if not in_ci():
        return (f"{', '.join(missing_programs())} not installed; run "
                f"`apt-get install {' '.join(PACKAGES)}` (or .ci/run, which installs them)")
    problem = install_packages()
    if problem:
        return problem
    if missing_programs():
        return f"installed {' '.join(PACKAGES)} but {', '.join(missing_programs())} still missing"
    return system_conf_in_use()


def system_conf_in_use() -> str | None:
    """Why /etc/slurm/slurm.conf cannot point at a test cluster: a real configuration, or the
    live cluster of another test session. A link left by a killed session is not in use."""
    if not SYSTEM_CONF.is_symlink() and not SYSTEM_CONF.exists():
        return None
    if not SYSTEM_CONF.is_symlink() or not os.readlink(SYSTEM_CONF).startswith(
            os.path.join(tempfile.gettempdir(), TEMP_PREFIX)):
        return f"{SYSTEM_CONF} is this machine's own SLURM configuration; a test cluster " \
               "will not replace it"
    if SYSTEM_CONF.exists():
        return f"another test cluster is running ({SYSTEM_CONF} -> {os.readlink(SYSTEM_CONF)})"
    return None


def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports free on localhost right now."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def node_hardware() -> str:
    """This machine's cores and memory as slurmd reports them (``slurmd -C``'s first line)."""
    line = subprocess.run([program("slurmd") or "slurmd", "-C"], capture_output=True, text=True,
                          check=True).stdout.splitlines()[0]
    return " ".join(word for word in line.split() if not word.startswith("NodeName="))


def slurm_conf(root: Path, host: str, hardware: str, ctld_port: int, slurmd_port: int) -> str:
    """One controller, one node (this machine), one partition; no accounting, no cgroups."""
    return f"""\
ClusterName=aidtest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={root}/munge/munge.socket
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool/%n
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge={MIN_JOB_AGE_S}
KillWait=5
InactiveLimit=0
NodeName={host} NodeAddr=127.0.0.1 {hardware} State=UNKNOWN
PartitionName={PARTITION} Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


@dataclass
class SlurmCluster:
    """A running one-node cluster; use as a context manager or call :meth:`stop`."""

    root: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @classmethod
    def start(cls, timeout_s: float = 60.0) -> SlurmCluster:
        problem = system_conf_in_use()
        if problem:
            raise RuntimeError(problem)
        root = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))  # short: unix socket paths ≤ 107
        root.chmod(0o755)
        for sub in ("munge", "state", "spool", "log"):
            (root / sub).mkdir(mode=0o755)
        host = socket.gethostname().split(".")[0]
        conf = root / "slurm.conf"
        conf.write_text(slurm_conf(root, host, node_hardware(), *free_ports(2)))
        cluster = cls(root, {**os.environ, "SLURM_CONF": str(conf)})
        try:
            SYSTEM_CONF.parent.mkdir(parents=True, exist_ok=True)
            SYSTEM_CONF.unlink(missing_ok=True)  # only ever a stale link (system_conf_in_use)
            SYSTEM_CONF.symlink_to(conf)
            cluster._start_daemons(conf, timeout_s)
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def _start_daemons(self, conf: Path, timeout_s: float) -> None:
        munge = self.root / "munge"
        key = munge / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        self._spawn("munged", ["munged", "--foreground", "--force", f"--key-file={key}",
                               f"--socket={munge}/munge.socket", f"--pid-file={munge}/munged.pid",
                               f"--seed-file={munge}/munged.seed",
                               f"--log-file={self.root}/log/munged.log"])
        self._wait(lambda: (munge / "munge.socket").exists(), timeout_s, "munged's socket")
        self._spawn("slurmctld", ["slurmctld", "-D", "-f", str(conf)])
        self._wait(lambda: "UP" in self.run("scontrol", "ping").stdout, timeout_s, "slurmctld")
        self._spawn("slurmd", ["slurmd", "-D", "-f", str(conf)])
        self._wait(self.node_idle, timeout_s, "the node to show idle in sinfo")

    def _spawn(self, name: str, cmd: list[str]) -> None:
        log = open(self.root / "log" / f"{name}.stdout", "w")  # noqa: SIM115
        self.processes[name] = subprocess.Popen([program(cmd[0]) or cmd[0], *cmd[1:]], stdout=log,
                                                stderr=subprocess.STDOUT, env=self.env,
                                                start_new_session=True)
        log.close()

    def _wait(self, ready, timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            dead = [name for name, proc in self.processes.items() if proc.poll() is not None]
            if dead:
                raise RuntimeError(f"{', '.join(dead)} exited while waiting for {what}:\n"
                                   + self.logs())
            if ready():
                return
            time.sleep(0.5)
        raise RuntimeError(f"timed out after {timeout_s:.0f} s waiting for {what}:\n" + self.logs())

    def run(self, *cmd: str) -> subprocess.CompletedProcess:
        """A SLURM client command against this cluster."""
        return subprocess.run([program(cmd[0]) or cmd[0], *cmd[1:]], capture_output=True,
                              text=True, env=self.env, check=False, timeout=60)

    def node_idle(self) -> bool:
        result = self.run("sinfo", "--noheader", "--format=%t")
        return result.returncode == 0 and result.stdout.split() == ["idle"]

    def job(self, job_id: str) -> dict[str, str]:
        """``scontrol show job`` as a dict of its Key=Value fields."""
        result = self.run("scontrol", "show", "job", "--oneliner", job_id)
        fields: dict[str, str] = {}
        for word in result.stdout.split():
            key, sep, value = word.partition("=")
            if sep:
                fields.setdefault(key, value)
        return fields

    def logs(self, tail_chars: int = 3000) -> str:
        texts = [f"--- {path.name}\n{path.read_text(errors='replace')[-tail_chars:]}"
                 for path in sorted((self.root / "log").glob("*")) if path.is_file()]
        return "\n".join(texts)

    def stop(self) -> None:
        """Cancel remaining jobs, then end the daemons this cluster started (slurmd first)."""
        if "slurmctld" in self.processes and self.processes["slurmctld"].poll() is None:
            self.run("scancel", "--full", "--user=root")
        for name in reversed(list(self.processes)):
            proc = self.processes[name]
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        if SYSTEM_CONF.is_symlink() and Path(os.readlink(SYSTEM_CONF)) == self.root / "slurm.conf":
            SYSTEM_CONF.unlink()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> SlurmCluster:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
