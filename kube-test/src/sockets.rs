//! The TCP connections a process holds, read from `/proc` (Linux): how tests and benchmarks
//! check how many connections a client opens to the apiserver.

use std::collections::HashSet;

/// The established TCP connections of process `pid` to `port` on any address, as listed in
/// `/proc/<pid>/net/tcp{,6}` for the sockets among the process's open files. 0 where `/proc`
/// cannot be read (another OS, a process that has ended).
///
/// ```no_run
/// let env = kube_test::TestEnv::shared()?;
/// // ... a client of `env` makes some requests ...
/// let open = kube_test::established_connections(std::process::id(), env.apiserver_port());
/// # Ok::<(), kube_test::Error>(())
/// ```
pub fn established_connections(pid: u32, port: u16) -> usize {
    let mut inodes = HashSet::new();
    if let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path()) {
                let target = target.to_string_lossy();
                if let Some(inode) = target.strip_prefix("socket:[").and_then(|s| s.strip_suffix(']')) {
                    inodes.insert(inode.to_owned());
                }
            }
        }
    }
    let mut count = 0;
    for table in ["tcp", "tcp6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) else { continue };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(remote), Some(state), Some(inode)) = (fields.get(2), fields.get(3), fields.get(9))
            else {
                continue;
            };
            let remote_port = remote.rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok());
            // State 01 is ESTABLISHED.
            if *state == "01" && remote_port == Some(port) && inodes.contains(*inode) {
                count += 1;
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_a_connection_of_this_process() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(established_connections(std::process::id(), port), 0);
        let _a = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let _b = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        assert_eq!(established_connections(std::process::id(), port), 2);
    }
}
