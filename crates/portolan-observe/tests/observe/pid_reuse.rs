//! Regression (issue 12, item 6 — `kill` TOCTOU): after the prompt, the stored pid was
//! signalled without re-checking that it still held the port, so an unrelated process that
//! reused the pid was killed. Here the holder exits, its pid is handed to an innocent process
//! (`/proc/sys/kernel/ns_last_pid`, root only), and the pinned target must refuse: the
//! innocent process keeps running.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use portolan_observe::kill::{Pinned, Signal, holds};

/// A python3 child listening on a loopback port; returns it with the socket's inode.
fn holder() -> (Child, u64) {
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import socket,time,os\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen()\nprint(os.fstat(s.fileno()).st_ino,flush=True)\ntime.sleep(120)\n",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 (apt-get install python3)");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("inode line");
    (child, line.trim().parse().expect("inode"))
}

/// Starts `sleep` with pid `pid` by setting the kernel's last pid just below it; other
/// processes on the machine may take it first, so this retries.
fn sleeper_with_pid(pid: u32) -> Child {
    for _ in 0..200 {
        std::fs::write("/proc/sys/kernel/ns_last_pid", (pid - 1).to_string())
            .expect("writing /proc/sys/kernel/ns_last_pid needs root (CI runs as root)");
        let mut c = Command::new("sleep").arg("120").spawn().expect("sleep");
        if c.id() == pid {
            return c;
        }
        let _ = c.kill();
        let _ = c.wait();
    }
    panic!("could not get pid {pid} reused in 200 tries");
}

#[test]
fn a_pinned_holder_whose_pid_was_reused_is_not_signalled() {
    let (mut a, inode) = holder();
    let pid = a.id();
    assert!(holds(pid, inode), "the holder holds its socket");
    let pinned = Pinned::pin(pid, inode).expect("pin");
    assert!(pinned.still_holds());
    // the holder exits while the user reads the prompt; its pid goes to an innocent process
    a.kill().expect("kill holder");
    a.wait().expect("reap holder");
    let mut innocent = sleeper_with_pid(pid);
    assert_eq!(innocent.id(), pid);
    assert!(!pinned.still_holds(), "the pid no longer holds the socket");
    assert!(pinned.exited(), "the pidfd sees the original exit");
    let err = pinned
        .signal(Signal::TERM)
        .expect_err("signal through the pidfd");
    assert_eq!(err.raw_os_error(), Some(3), "ESRCH: {err}");
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        innocent.try_wait().expect("try_wait").is_none(),
        "the innocent process with the reused pid was signalled"
    );
    innocent.kill().expect("kill sleeper");
    innocent.wait().expect("reap sleeper");
}

#[test]
fn a_pinned_holder_is_signalled_and_waited_for() {
    let (mut a, inode) = holder();
    let pinned = Pinned::pin(a.id(), inode).expect("pin");
    assert!(!pinned.exited());
    assert_eq!(
        pinned.wait(Duration::from_millis(50)),
        None,
        "still running"
    );
    pinned.signal(Signal::TERM).expect("signal");
    let took = pinned.wait(Duration::from_secs(5));
    assert!(took.is_some(), "exit seen through the pidfd");
    assert!(a.wait().is_ok());
    // a process that does not hold the socket cannot be pinned for it
    let mut other = Command::new("sleep").arg("30").spawn().expect("sleep");
    assert!(Pinned::pin(other.id(), inode).is_err());
    other.kill().expect("kill");
    other.wait().expect("reap");
}
