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


# --- networking options and the generated /etc ------------------------------

def _one_error_line(p):
    lines = p.stderr.decode().strip().splitlines()
    return p.returncode == 125 and len(lines) == 1 and lines[0].startswith("wisp: error:")


def test_bad_publish_specs_are_one_line_errors():
    for spec in ("80", "0:80", "8080:70000", "8080:80/sctp", "1.2.3:8080:80", "x:80"):
        p = wisp("run", "--accel", "tcg", "-p", spec, "--", "busybox", "true")
        assert _one_error_line(p), (spec, p.stderr)
        assert spec.encode() in p.stderr, (spec, p.stderr)
    for args in (["--net", "bridge"], ["--net", "tap:"], ["--ip", "10.0.2.15"],
                 ["--net", "none", "-p", "8080:80"], ["-p", "8080:80", "-p", "8080:81"]):
        p = wisp("run", "--accel", "tcg", *args, "--", "busybox", "true")
        assert _one_error_line(p), (args, p.stderr)


def test_publish_refuses_a_port_in_use():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    try:
        p = wisp("run", "--accel", "tcg", "-p", f"{port}:80", "--", "busybox", "true")
        assert _one_error_line(p), p.stderr
        assert b"in use" in p.stderr
    finally:
        s.close()


def test_verbose_shows_the_nic_and_hostfwd():
    p = wisp("run", "--accel", "tcg", "--verbose", "-p", "127.0.0.1:18931:80",
             "-p", "18932:53/udp", "--", "busybox", "true")
    assert p.returncode == 0, p.stderr
    assert (b"-netdev user,id=n0,hostfwd=tcp:127.0.0.1:18931-:80,"
            b"hostfwd=udp:127.0.0.1:18932-:53 -device virtio-net-device,netdev=n0") in p.stderr
    assert b"net=static ip=10.0.2.15/24 gw=10.0.2.2 dns=10.0.2.3" in p.stderr
    p = wisp("run", "--accel", "tcg", "--verbose", "--net", "none", "--", "busybox", "true")
    assert p.returncode == 0, p.stderr
    assert b"-netdev" not in p.stderr and b"net=none" in p.stderr


def test_generated_etc_files():
    p = wisp("run", "--accel", "tcg", "--", "busybox", "cat", "/etc/hosts", "/etc/hostname",
             "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/passwd", "/etc/group",
             "/etc/services", "/etc/protocols")
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode()
    assert "127.0.0.1\tlocalhost\n" in out and "\twisp\n" in out
    assert "nameserver 10.0.2.3\n" in out
    assert "hosts:\tfiles dns\n" in out
    assert "root:x:0:0:" in out and "nobody:x:65534:65534:" in out
    assert "nogroup:x:65534:" in out and "www-data:x:33:" in out
    assert "http\t\t80/tcp" in out and "tcp\t6\tTCP" in out
    # The user's id resolves through them (busybox reads /etc/passwd).
    p = wisp("run", "--accel", "tcg", "--", "busybox", "id")
    assert p.returncode == 0 and p.stdout.startswith(b"uid=0(root) gid=0(root)"), p


def test_added_etc_files_win_and_dns_follows_ip(tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_bytes(b"10.9.9.9 mine\n")
    p = wisp("run", "--accel", "tcg", "--add", f"{hosts}:/etc/hosts",
             "--ip", "10.0.2.20/24,gw=10.0.2.2,dns=10.0.2.3", "--",
             "busybox", "cat", "/etc/hosts", "/etc/resolv.conf")
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"10.9.9.9 mine\nnameserver 10.0.2.3\n"
    # No network: no resolv.conf to point at a server that is not there.
    p = wisp("run", "--accel", "tcg", "--net", "none", "--", "busybox", "ls", "/etc")
    assert p.returncode == 0, p.stderr
    assert b"resolv.conf" not in p.stdout and b"hosts" in p.stdout


def test_build_stores_ip_and_etc_and_refuses_publish(tmp_path):
    img = tmp_path / "b.img"
    p = wisp("build", "-o", str(img), "-p", "8080:80", "--", "busybox", "true")
    assert _one_error_line(p) and b"wisp boot" in p.stderr, p.stderr
    p = wisp("build", "-o", str(img), "--ip", "192.168.7.2/24,gw=192.168.7.1", "--",
             "busybox", "cat", "/etc/wisp/config", "/etc/hosts")
    assert p.returncode == 0, p.stderr
    p = wisp("boot", str(img), "--accel", "tcg", "--net", "none")
    # --net none at boot: the image's ip= stays in its config (the kernel has
    # no NIC to give it to).
    assert p.returncode == 0, p.stderr
    assert b"net=static ip=192.168.7.2/24 gw=192.168.7.1 -- " in p.stdout, p.stdout
    assert b"127.0.0.1\tlocalhost" in p.stdout


def test_boot_leaves_the_image_address_alone(tmp_path):
    img = tmp_path / "ip.img"
    p = wisp("build", "-o", str(img), "--ip", "10.0.2.20/24,gw=10.0.2.2", "--",
             "busybox", "true")
    assert p.returncode == 0, p.stderr
    p = wisp("boot", str(img), "--accel", "tcg", "--verbose", "-p", "18933:80")
    assert p.returncode == 0, p.stderr
    assert b"net=static" not in p.stderr and b"hostfwd=tcp:127.0.0.1:18933-:80" in p.stderr
    p = wisp("boot", str(img), "--accel", "tcg", "--verbose", "--ip", "10.0.2.20/24")
    assert p.returncode == 0, p.stderr
    assert b"net=static ip=10.0.2.20/24 " in p.stderr


def test_pcap_records_the_nics_frames(tmp_path):
    cap = tmp_path / "n.pcap"
    # A DNS query to slirp (the answer does not matter: the host may have no
    # name service; --timeout bounds a resolver that does not answer).
    p = wisp("run", "--accel", "tcg", "--timeout", "15", "--pcap", str(cap), "--",
             "busybox", "nslookup", "wisp.invalid", "10.0.2.3")
    assert p.returncode in (0, 1, 124), p.stderr
    data = cap.read_bytes()
    # pcap magic, then frames: at least ARP for the gateway and the query.
    assert data[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4"), data[:4]
    assert len(data) > 24 + 2 * (16 + 42), len(data)
    assert b"\x04wisp\x07invalid\x00" in data     # the query's name, as DNS encodes it
    p = wisp("run", "--accel", "tcg", "--pcap", str(cap), "--net", "none", "--", "busybox", "true")
    assert _one_error_line(p), p.stderr
    p = wisp("run", "--accel", "tcg", "--pcap", "/no/such/dir/x.pcap", "--", "busybox", "true")
    assert _one_error_line(p) and b"/no/such/dir/x.pcap" in p.stderr, p.stderr
