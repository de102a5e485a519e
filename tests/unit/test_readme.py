"""The README's first lines are exactly the two fresh-machine commands, and
CI runs the second one."""

import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_readme_starts_with_the_two_commands():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert lines[:2] == ["    pip install tox && tox -e demo",
                         "    pip install tox && tox"]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install tox && tox" in ci
    assert "TEST_COMMAND" in ci
