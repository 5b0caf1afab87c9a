"""What only the native kernel (kite-native, xeus 2.4.1) has to survive: SIGINT while the process
starts. Its requests, output, input, interrupts (SIGINT and interrupt_request), counts and
shutdown are covered with the other hosts by test_protocol, test_interrupts and
test_conformance (KITE_TEST_KERNELS).
"""
import signal
import subprocess
import time

import pytest

from kernels import Kernel, kernelspec, require_kernel

KERNEL = "kite-native"


@pytest.fixture
def spec():
    require_kernel(KERNEL)
    return kernelspec(KERNEL)


def test_sigint_during_startup(spec):
    """SIGINT right after the process starts (before CPython is up) must not kill it."""
    k = Kernel.spawn(KERNEL)
    try:
        for _ in range(5):
            k.km.interrupt_kernel()
            time.sleep(0.02)
        k.wait_ready(30)
        r = k.execute_ok("print(6 * 7)")
        assert r.stream_text() == "42\n"
        assert k.km.is_alive()
    finally:
        k.shutdown()


@pytest.mark.parametrize("delay", [0.005, 0.02, 0.1])
def test_sigint_while_loading(spec, tmp_path, delay):
    """SIGINT milliseconds after exec, while the dynamic loader still maps libpython and xeus
    (the launcher ignores SIGINT across that exec), must not end the kernel process."""
    from jupyter_client.connect import write_connection_file

    cf, _ = write_connection_file(str(tmp_path / "kernel.json"))
    proc = subprocess.Popen([a.replace("{connection_file}", cf) for a in spec.argv],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)
        assert proc.poll() is None, f"kernel died with {proc.returncode}"
    finally:
        proc.kill()
        proc.wait()
