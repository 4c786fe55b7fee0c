//! The kernel's smoothed round-trip time of a connected TCP socket, in milliseconds:
//!
//! - Linux: `getsockopt(IPPROTO_TCP, TCP_INFO)`, `tcpi_rtt` (µs);
//! - macOS: `getsockopt(IPPROTO_TCP, TCP_CONNECTION_INFO)`, `tcpi_srtt` (ms);
//! - elsewhere (Windows included): none.
//!
//! A crate of its own, without C build dependencies, so that the macOS and Windows code is
//! type-checked from Linux (`cargo check --target aarch64-apple-darwin`), which the main
//! crate cannot be (its bundled SQLite needs a C cross compiler).

/// A socket as the platform names it.
#[cfg(unix)]
pub type RawSock = std::os::fd::RawFd;
/// A socket as the platform names it.
#[cfg(windows)]
pub type RawSock = std::os::windows::io::RawSocket;
/// A socket as the platform names it.
#[cfg(not(any(unix, windows)))]
pub type RawSock = i32;

/// Where [`kernel_rtt_ms`] reads from on this platform (for logs and docs).
pub const SOURCE: &str = if cfg!(target_os = "linux") {
    "Linux TCP_INFO tcpi_rtt"
} else if cfg!(any(target_os = "macos", target_os = "ios")) {
    "macOS TCP_CONNECTION_INFO tcpi_srtt"
} else {
    "none"
};

/// The kernel's smoothed RTT of the connected TCP socket `sock`, in ms; `None` when the
/// platform does not tell, the call fails (a closed or non-TCP socket), or no round trip
/// has been measured yet.
pub fn kernel_rtt_ms(sock: RawSock) -> Option<f64> {
    imp::rtt_ms(sock)
}

#[cfg(target_os = "linux")]
mod imp {
    pub fn rtt_ms(fd: super::RawSock) -> Option<f64> {
        // SAFETY: `tcp_info` is plain old data (zeroed is a valid value); getsockopt writes
        // at most `len` bytes into it and says how many; a closed or reused descriptor
        // only makes the call fail.
        let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_INFO,
                (&mut info as *mut libc::tcp_info).cast(),
                &mut len,
            )
        };
        let has_rtt = std::mem::offset_of!(libc::tcp_info, tcpi_rtt) + 4 <= len as usize;
        // 0 means no sample yet.
        (rc == 0 && has_rtt && info.tcpi_rtt > 0).then(|| f64::from(info.tcpi_rtt) / 1000.0)
    }
}

#[cfg(any(target_os = "macos", target_os = "ios"))]
mod imp {
    pub fn rtt_ms(fd: super::RawSock) -> Option<f64> {
        // SAFETY: as on Linux: plain old data, at most `len` bytes written, a bad
        // descriptor only fails the call.
        let mut info: libc::tcp_connection_info = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::tcp_connection_info>() as libc::socklen_t;
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_CONNECTION_INFO,
                (&mut info as *mut libc::tcp_connection_info).cast(),
                &mut len,
            )
        };
        let has_srtt =
            std::mem::offset_of!(libc::tcp_connection_info, tcpi_srtt) + 4 <= len as usize;
        // XNU keeps `tcpi_srtt` in whole ms; 0 means no sample yet.
        (rc == 0 && has_srtt && info.tcpi_srtt > 0).then(|| f64::from(info.tcpi_srtt))
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "ios")))]
mod imp {
    pub fn rtt_ms(_sock: super::RawSock) -> Option<f64> {
        None
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;

    #[test]
    fn a_loopback_connection_has_a_small_kernel_rtt() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        client.write_all(b"ping").unwrap();
        let mut b = [0u8; 4];
        server.read_exact(&mut b).unwrap();
        let rtt = kernel_rtt_ms(server.as_raw_fd()).expect("an RTT sample");
        assert!(rtt > 0.0 && rtt < 1000.0, "loopback RTT {rtt} ms");
        assert_eq!(SOURCE, "Linux TCP_INFO tcpi_rtt");
    }

    #[test]
    fn a_socket_that_is_not_tcp_has_none() {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        assert_eq!(kernel_rtt_ms(udp.as_raw_fd()), None);
        assert_eq!(kernel_rtt_ms(-1), None);
    }
}
