"""Inside the VM, a skip is a failure unless it is the documented one.

The in-VM tests exist to prove what the host cannot: if one of them skips
there (a missing tool, module or driver), the run fails instead of passing
silently. The only allowed skip is the openvswitch driver not being
installed (vmfixtures.OVS_MISSING).
"""

from tests.vm import vmfixtures as vmfx

_BAD_SKIPS = []


def pytest_report_header(config):
    if vmfx.IN_VM:
        with open("/proc/version") as f:
            return ["guest kernel: %s" % vmfx.kernel_release(),
                    "guest /proc/version: %s" % f.read().strip()]
    return None


def pytest_runtest_logreport(report):
    if not vmfx.IN_VM or not report.skipped:
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) \
        else str(report.longrepr)
    if vmfx.OVS_MISSING not in reason:
        _BAD_SKIPS.append("%s: %s" % (report.nodeid, reason))


def pytest_sessionfinish(session, exitstatus):
    if _BAD_SKIPS and session.exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter):
    if _BAD_SKIPS:
        terminalreporter.write_line(
            "FAILED: tests skipped inside the VM (not allowed there):",
            red=True)
        for line in _BAD_SKIPS:
            terminalreporter.write_line("  " + line, red=True)
