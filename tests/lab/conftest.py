"""Lab self-tests: make tests/labsupport.py importable and export its pytest fixtures."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from labsupport import kube, lab, neutron_cleanup, pod_netns  # noqa: E402,F401  (pytest fixtures)
