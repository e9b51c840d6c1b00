"""deploy/: the systemd units pass `systemd-analyze verify`; the cron line and the units' command
lines are valid `aiddeserts` invocations."""

from __future__ import annotations

import getpass
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from aiddeserts import cli

DEPLOY = REPO / "deploy"
INSTALL_DIR = "/opt/aiddeserts"


def exec_start() -> list[str]:
    line = next(line for line in (DEPLOY / "aiddeserts.service").read_text().splitlines()
                if line.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not available on this machine")
def test_systemd_units_pass_verify(tmp_path):
    # Install as the README says, into this checkout (whose .venv holds the aiddeserts script)
    # and as the current user, so verify can check that the command exists.
    venv_bin = Path(sys.executable).parent
    assert (venv_bin / "aiddeserts").exists(), "pip install -e . creates the console script"
    user = getpass.getuser()
    service = (DEPLOY / "aiddeserts.service").read_text()
    service = service.replace(f"{INSTALL_DIR}/.venv/bin", str(venv_bin))
    service = service.replace(INSTALL_DIR, str(REPO))
    service = service.replace("User=aiddeserts", f"User={user}")
    service = service.replace("Group=aiddeserts", f"Group={user}")
    (tmp_path / "aiddeserts.service").write_text(service)
    shutil.copy(DEPLOY / "aiddeserts.timer", tmp_path / "aiddeserts.timer")
    result = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "aiddeserts.service"),
                             str(tmp_path / "aiddeserts.timer")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    # Unknown keys are only warnings: no message may mention the units at all.
    assert "aiddeserts." not in result.stdout + result.stderr, result.stdout + result.stderr


def test_unit_and_cron_commands_are_valid_cli_invocations():
    args = exec_start()
    assert args[0] == f"{INSTALL_DIR}/.venv/bin/aiddeserts"
    parsed, extra = cli.build_parser().parse_known_args(args[1:])
    assert parsed.command == "run" and extra == []
    assert parsed.configfile == "/etc/aiddeserts/config.yaml"

    cron = [line for line in (DEPLOY / "aiddeserts.cron").read_text().splitlines()
            if line and not line.startswith("#") and "=" not in line.split()[0]]
    assert len(cron) == 1
    fields = cron[0].split(None, 5)
    assert all(f.replace("*", "0").isdigit() for f in fields[:5])  # minute hour dom month dow
    command = shlex.split(fields[5])
    start = command.index(".venv/bin/aiddeserts")
    end = command.index(">>")
    parsed, extra = cli.build_parser().parse_known_args(command[start + 1:end])
    assert parsed.command == "run" and extra == []
    # The service treats "another run is active" as success; the code is the CLI's.
    assert f"SuccessExitStatus={cli.EXIT_BUSY}" in (DEPLOY / "aiddeserts.service").read_text()
