//! The kernel's round-trip estimate of a client's connection (Linux `TCP_INFO`
//! `tcpi_rtt`, macOS `TCP_CONNECTION_INFO` `tcpi_srtt`; see the `replaydesk-sockrtt`
//! crate), read when a timeline report arrives: most classroom clients send no `rtt_ms`,
//! and half the connection's RTT still moves their pair's `time_line` closer to when the
//! client read its clock than the receipt time is.

/// A request's connection, as the accept loop saw it (a request extension).
#[derive(Debug, Clone, Copy)]
pub struct ConnSocket {
    #[cfg(unix)]
    fd: std::os::fd::RawFd,
}

impl ConnSocket {
    /// Remembers `stream`'s socket. The connection's task owns the stream and runs the
    /// request's handler, so the descriptor stays open while a handler can read it.
    pub fn of(stream: &tokio::net::TcpStream) -> Self {
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            ConnSocket {
                fd: stream.as_raw_fd(),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = stream;
            ConnSocket {}
        }
    }

    /// The kernel's smoothed round trip of this connection in ms, if the platform tells
    /// (Linux, macOS) and it has measured one.
    pub fn rtt_ms(&self) -> Option<f64> {
        #[cfg(unix)]
        {
            replaydesk_sockrtt::kernel_rtt_ms(self.fd)
        }
        #[cfg(not(unix))]
        {
            None
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_loopback_connection_has_a_small_kernel_rtt() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::spawn(async move { tokio::net::TcpStream::connect(addr).await });
        let (server_side, _) = listener.accept().await.unwrap();
        let _client = client.await.unwrap().unwrap();
        let rtt = ConnSocket::of(&server_side)
            .rtt_ms()
            .expect("an RTT sample");
        assert!(rtt > 0.0 && rtt < 1000.0, "loopback RTT {rtt} ms");
    }

    /// Why the netem test cannot run here, if it cannot.
    fn netem_unavailable() -> Option<String> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Some("not root (tc netem needs a network namespace of its own)".into());
        }
        None
    }

    /// With 50 ms added each way on a fresh namespace's loopback (`tc netem`), the kernel's
    /// RTT of an accepted connection is about 100 ms. Needs root and the netem qdisc;
    /// otherwise skipped with a message.
    #[test]
    fn kernel_rtt_follows_a_delay_added_with_netem() {
        if let Some(why) = netem_unavailable() {
            eprintln!("skipped kernel_rtt_follows_a_delay_added_with_netem: {why}");
            return;
        }
        // A thread of its own: unshare(CLONE_NEWNET) moves only the calling thread, and
        // the commands it runs (forked from it) and the sockets it opens live there.
        let outcome = std::thread::spawn(|| -> Result<f64, String> {
            // SAFETY: unshare only changes this thread's network namespace.
            if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                return Err(format!(
                    "unshare(CLONE_NEWNET) failed: {}",
                    std::io::Error::last_os_error()
                ));
            }
            for args in [
                &["ip", "link", "set", "lo", "up"][..],
                &[
                    "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "50ms",
                ][..],
            ] {
                let out = std::process::Command::new(args[0])
                    .args(&args[1..])
                    .output()
                    .map_err(|e| format!("{}: {e}", args.join(" ")))?;
                if !out.status.success() {
                    return Err(format!(
                        "{}: {}",
                        args.join(" "),
                        String::from_utf8_lossy(&out.stderr).trim()
                    ));
                }
            }
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .map_err(|e| e.to_string())?;
                let addr = listener.local_addr().map_err(|e| e.to_string())?;
                let client = tokio::spawn(async move {
                    let mut c = tokio::net::TcpStream::connect(addr).await?;
                    for _ in 0..3 {
                        c.write_all(b"ping").await?;
                        let mut b = [0u8; 4];
                        c.read_exact(&mut b).await?;
                    }
                    Ok::<_, std::io::Error>(c)
                });
                let (mut s, _) = listener.accept().await.map_err(|e| e.to_string())?;
                for _ in 0..3 {
                    let mut b = [0u8; 4];
                    s.read_exact(&mut b).await.map_err(|e| e.to_string())?;
                    s.write_all(b"pong").await.map_err(|e| e.to_string())?;
                }
                let _c = client.await.map_err(|e| e.to_string())?;
                ConnSocket::of(&s)
                    .rtt_ms()
                    .ok_or_else(|| "no RTT sample".to_owned())
            })
        })
        .join()
        .expect("the namespace thread");
        match outcome {
            Ok(rtt) => assert!(
                (90.0..200.0).contains(&rtt),
                "kernel RTT {rtt} ms with 50 ms each way"
            ),
            // Root but no netem (a container without sch_netem): not this code's failure.
            Err(why) if why.contains("tc qdisc") || why.contains("unshare") => eprintln!(
                "skipped kernel_rtt_follows_a_delay_added_with_netem: this machine cannot add \
                 delay with netem in a network namespace of its own (no sch_netem in the kernel, \
                 or no namespaces): {why}"
            ),
            Err(why) => panic!("{why}"),
        }
    }
}
