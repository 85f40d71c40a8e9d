"""The wisp command as a user types it."""
import os
import signal
import subprocess
import time

from conftest import WISP, wisp


def test_help_and_version():
    p = wisp("--help")
    assert p.returncode == 0 and b"wisp run" in p.stdout
    p = wisp("version")
    assert p.returncode == 0 and p.stdout.strip()


def test_missing_program_is_one_clear_line():
    p = wisp("run", "--accel", "tcg", "--", "/no/such/program")
    assert p.returncode == 125
    lines = p.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("wisp: error:"), p.stderr
    assert "/no/such/program" in lines[0]


def test_unknown_option_is_a_usage_error():
    p = wisp("run", "--no-such-option", "--", "busybox", "true")
    assert p.returncode == 125
    assert b"wisp: error" in p.stderr or b"usage" in p.stderr.lower()


def test_missing_kernel_is_reported():
    p = wisp("run", "--kernel", "/no/kernel.elf", "--", "busybox", "true")
    assert p.returncode == 125
    assert b"kernel" in p.stderr


def test_busybox_true_boots_and_exits_zero():
    p = wisp("run", "--accel", "tcg", "--", "busybox", "true")
    assert p.returncode == 0, p.stderr
    assert p.stdout == b""


def test_verbose_shows_program_start():
    p = wisp("run", "--accel", "tcg", "--verbose", "--", "busybox", "true")
    assert p.returncode == 0, p.stderr
    assert b"wisp: program started after" in p.stderr


def test_sigterm_kills_the_vm():
    # The VM must not outlive the tool.
    proc = subprocess.Popen([WISP, "run", "--accel", "tcg", "--", "busybox", "sleep", "30"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=20)
    assert proc.returncode in (0, 143)   # 0 if the VM already finished
    time.sleep(0.2)
    left = subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True)
    assert left.stdout == b""


def test_stdin_reaches_the_program():
    for _ in range(3):   # input racing the boot once lost the first frame
        p = wisp("run", "--accel", "tcg", "--", "busybox", "cat", input=b"hi\n")
        assert p.returncode == 0, p.stderr
        assert p.stdout == b"hi\n"


def test_binary_stdin_and_stdout_round_trip_byte_for_byte():
    data = os.urandom(300_000)
    p = wisp("run", "--accel", "tcg", "--", "busybox", "cat", input=data)
    assert p.returncode == 0, p.stderr
    assert p.stdout == data


def test_stdout_and_stderr_are_separate_streams():
    p = wisp("run", "--accel", "tcg", "--", "busybox", "sh", "-c",
             "echo out; echo err >&2; echo out2; exit 7")
    assert p.returncode == 7, p.stderr
    assert p.stdout == b"out\nout2\n"
    assert p.stderr == b"err\n"


def test_false_exits_one():
    p = wisp("run", "--accel", "tcg", "--", "busybox", "false")
    assert p.returncode == 1, p.stderr


def test_files_added_under_tmp_are_visible(tmp_path):
    f = tmp_path / "hello.txt"
    f.write_bytes(b"hello from /tmp\n")
    p = wisp("run", "--accel", "tcg", "--add", f"{f}:/tmp/hello.txt", "--",
             "busybox", "cat", "/tmp/hello.txt")
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"hello from /tmp\n"
