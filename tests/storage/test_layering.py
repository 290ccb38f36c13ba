import subprocess
import sys


def test_storage_imports_nothing_above_it():
    """storage/ is the bottom layer: importing it loads no registry, token or HTTP module."""
    code = (
        "import sys\n"
        "import tenantgate.storage.batch, tenantgate.storage.changes\n"
        "import tenantgate.storage.database, tenantgate.storage.sinks, tenantgate.storage.audit\n"
        "above = [m for m in sys.modules if m.startswith('tenantgate.')\n"
        "         and not m.startswith('tenantgate.storage') and m != 'tenantgate.metrics']\n"
        "print(','.join(sorted(above)))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == ""
