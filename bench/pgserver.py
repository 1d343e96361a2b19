"""A throwaway PostgreSQL 15 server for the bench scripts (serve.py, fleet.py): initdb in a
directory of the caller's, started with durable settings (fsync on, autovacuum on) so the
numbers are those of a real deployment; as the `postgres` user when run as root."""
import os
import shutil
import socket
import subprocess

PG = "/usr/lib/postgresql/15/bin"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_postgres():
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def start(tmp):
    """Starts a server in `tmp` (a directory the postgres user may enter). Returns its port,
    a psql command line for it, the postmaster's pid, and a function that stops it."""
    pre = as_postgres()
    if pre:
        shutil.chown(tmp, "postgres", "postgres")
    data, port = os.path.join(tmp, "data"), free_port()
    subprocess.run(pre + [f"{PG}/initdb", "-D", data, "-U", "postgres", "--auth=trust",
                          "-E", "UTF8", "--no-sync"], check=True, capture_output=True)
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {tmp} -c max_connections=100"
    subprocess.run(pre + [f"{PG}/pg_ctl", "-D", data, "-l", os.path.join(tmp, "log"),
                          "-o", opts, "-w", "start"], check=True, capture_output=True)
    with open(os.path.join(data, "postmaster.pid")) as f:
        postmaster = int(f.readline())
    psql = pre + [f"{PG}/psql", "-h", tmp, "-p", str(port), "-U", "postgres", "-Xqt", "-A"]
    stop = lambda: subprocess.run(pre + [f"{PG}/pg_ctl", "-D", data, "-m", "immediate", "stop"],
                                  capture_output=True)
    return port, psql, postmaster, stop
