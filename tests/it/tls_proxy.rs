//! TLS through a proxy: Debian's nginx, run by this test as its own process with the
//! shipped configuration (`packaging/nginx/replaydesk.conf`, only its addresses and paths
//! changed) and a throwaway certificate, in front of `replaydesk serve`. Through it, the
//! client's own address (X-Forwarded-For) and scheme (X-Forwarded-Proto) reach the server;
//! the same headers sent straight to the server by anyone but the proxy change nothing.
#![cfg(unix)]

use crate::util::process;
use process::{signal, sigterm_and_wait, ServeCommand};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ADMIN: &str = "tls-proxy-admin-token-51c0e9";

fn on_path(tool: &str) -> bool {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .any(|d| Path::new(d).join(tool).is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The nginx master process; stopped (SIGQUIT: workers finish, then all exit) on drop.
struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            signal(&self.0, libc::SIGQUIT);
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(10) {
                if let Ok(Some(_)) = self.0.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// The shipped site configuration with this test's addresses and paths; panics if the
/// file no longer has what is substituted (the test must follow the file).
fn site_config(dir: &Path, upstream: &str, http_port: u16, https_port: u16) -> String {
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/nginx/replaydesk.conf"),
    )
    .unwrap();
    let d = dir.display();
    let mut text = shipped.clone();
    for (from, to) in [
        ("server 127.0.0.1:8080;", format!("server {upstream};")),
        ("listen 80;", format!("listen 127.0.0.1:{http_port};")),
        ("listen [::]:80;", String::new()),
        (
            "listen 443 ssl http2;",
            format!("listen 127.0.0.1:{https_port} ssl http2;"),
        ),
        ("listen [::]:443 ssl http2;", String::new()),
        ("/etc/ssl/replaydesk/fullchain.pem", format!("{d}/cert.pem")),
        ("/etc/ssl/replaydesk/privkey.pem", format!("{d}/key.pem")),
        ("root /var/www/html;", format!("root {d}/www;")),
    ] {
        assert!(text.contains(from), "the shipped nginx file has {from:?}");
        text = text.replacen(from, &to, 1);
    }
    text
}

fn start_nginx(dir: &Path, site: &str) -> Nginx {
    std::fs::write(dir.join("replaydesk.conf"), site).unwrap();
    std::fs::create_dir_all(dir.join("www")).unwrap();
    let d = dir.display();
    // As root (CI), the workers would switch to `nobody` and could not read this private
    // directory: they stay the test's user.
    // SAFETY: geteuid has no preconditions.
    let user = if unsafe { libc::geteuid() } == 0 {
        "user root root;"
    } else {
        ""
    };
    let main = format!(
        "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n{user}\n\
         events {{ worker_connections 256; }}\n\
         http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/client_body;\n  \
         proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  \
         scgi_temp_path {d}/scgi;\n  include {d}/replaydesk.conf;\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), main).unwrap();
    let check = Command::new("nginx")
        .args(["-t", "-q", "-p"])
        .arg(dir)
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .output()
        .expect("run nginx -t");
    assert!(
        check.status.success(),
        "nginx -t: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let child = Command::new("nginx")
        .arg("-p")
        .arg(dir)
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start nginx");
    Nginx(child)
}

fn wait_for_port(port: u16) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "nginx is not listening on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A client whose connections come from `from` (another loopback address than the
/// proxy's), trusting the throwaway certificate.
fn client(from: &str, cert: &[u8]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(from.parse::<IpAddr>().unwrap())
        .add_root_certificate(reqwest::Certificate::from_pem(cert).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

#[test]
fn nginx_terminates_tls_and_only_it_says_who_the_client_is() {
    if !on_path("nginx") || !on_path("openssl") {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "nginx and openssl are needed (scripts/setup.sh installs them)"
        );
        eprintln!("skipped: nginx or openssl is not installed (scripts/setup.sh installs them)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let gen = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            // A leaf, not a CA: rustls refuses a CA certificate as a server's own.
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-addext",
            "extendedKeyUsage=serverAuth",
            "-keyout",
        ])
        .arg(dir.path().join("key.pem"))
        .arg("-out")
        .arg(dir.path().join("cert.pem"))
        .output()
        .expect("openssl");
    assert!(
        gen.status.success(),
        "{}",
        String::from_utf8_lossy(&gen.stderr)
    );
    let cert = std::fs::read(dir.path().join("cert.pem")).unwrap();

    let db = dir.path().join("replaydesk.db");
    // The proxy is 127.0.0.1; the clients come from 127.0.0.2 and 127.0.0.3. One callback
    // per source at once, so the per-source limit shows which source the server saw.
    let mut served = ServeCommand::new(dir.path(), &db)
        .env("REPLAYDESK_ADMIN_TOKEN", ADMIN)
        .env("REPLAYDESK_BEHIND_PROXY", "true")
        .env("REPLAYDESK_TRUSTED_PROXIES", "127.0.0.1")
        .env("REPLAYDESK_CALLBACK_RATE_PER_SOURCE", "0.01")
        .spawn();
    let (http_port, https_port) = (free_port(), free_port());
    let nginx = start_nginx(
        dir.path(),
        &site_config(dir.path(), served.addr(), http_port, https_port),
    );
    wait_for_port(https_port);
    let proxied = format!("https://127.0.0.1:{https_port}");
    let direct = served.base.clone();

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let a = client("127.0.0.2", &cert);
        let b = client("127.0.0.3", &cert);
        let trusted = client("127.0.0.1", &cert);

        // TLS: ready over HTTPS, HSTS because the proxy says the client used HTTPS.
        let res = a.get(format!("{proxied}/readyz")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.headers()["strict-transport-security"],
            "max-age=31536000"
        );
        // Plain HTTP to nginx is sent to HTTPS.
        let res = a
            .get(format!("http://127.0.0.1:{http_port}/readyz"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 301);
        assert!(res.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("https://"));

        // The client's address: A's callbacks count against A (whatever A claims in its
        // own X-Forwarded-For), not against the proxy, so B is still let through.
        let callback = |c: &reqwest::Client, spoof: &str| {
            c.post(format!("{proxied}/v1/callbacks/recording"))
                .header("x-forwarded-for", spoof)
                .body("{}")
                .send()
        };
        let first = callback(&a, "198.51.100.1").await.unwrap().status();
        assert_ne!(first, 429, "A's first callback is within its limit");
        let second = callback(&a, "198.51.100.2").await.unwrap().status();
        assert_eq!(second, 429, "A's second, whatever it claims, is A's");
        let other = callback(&b, "198.51.100.1").await.unwrap().status();
        assert_ne!(other, 429, "B is another source");

        // Straight to the server from anyone but the proxy, the headers are ignored: no
        // HSTS for a claimed https, and a claimed address is not taken.
        let res = a
            .get(format!("{direct}/readyz"))
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-for", "203.0.113.50")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.headers().get("strict-transport-security").is_none());
        let spoofed = a
            .post(format!("{direct}/v1/callbacks/recording"))
            .header("x-forwarded-for", "203.0.113.51")
            .body("{}")
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(spoofed, 429, "a spoofed X-Forwarded-For is still A");
        // From the proxy's address the same headers are believed.
        let res = trusted
            .get(format!("{direct}/readyz"))
            .header("x-forwarded-proto", "https")
            .send()
            .await
            .unwrap();
        assert!(res.headers().get("strict-transport-security").is_some());
    });
    drop(nginx);
    assert!(sigterm_and_wait(&mut served.child, Duration::from_secs(60)).success());
}
