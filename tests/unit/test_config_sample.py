"""etc/skynet/skynet.conf.sample is generated (tox -e genconfig) and committed:
it must match what oslo-config-generator writes from the code today."""

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_sample_is_up_to_date(tmp_path):
    out = tmp_path / "skynet.conf.sample"
    gen = os.path.join(os.path.dirname(sys.executable), "oslo-config-generator")
    subprocess.run([gen, "--config-file",
                    str(ROOT / "etc/oslo-config-generator/skynet.conf"),
                    "--output-file", str(out)], check=True, cwd=ROOT)
    committed = (ROOT / "etc/skynet/skynet.conf.sample").read_text()
    assert out.read_text() == committed, (
        "etc/skynet/skynet.conf.sample is stale: run `tox -e genconfig`")
