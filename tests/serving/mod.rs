//! What the suites that drive `serve` share: the taxi example served in a directory, a plain
//! HTTP/1.1 client (pages, WebDriver) and a webhook receiver on 127.0.0.1 — std only.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::print_stderr
)] // Tests fail loudly and can echo what `serve` says.

pub mod webdriver;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A `serve` process, killed when dropped (a failing test leaves none behind).
pub struct Serving {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `command` (a pipeline binary's `serve --bind 127.0.0.1:0 …`) and returns once it
/// says where it serves.
pub fn serve(mut command: Command) -> Serving {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let mut said = Vec::new();
    let url = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            said.push(line.clone());
            line.strip_prefix("open ")
                .and_then(|rest| rest.strip_suffix("/runs"))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("serve did not say where it serves: {said:#?}"));
    // Keep reading what it says, so that it never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if std::env::var_os("MILLRACE_TEST_VERBOSE").is_some() {
                eprintln!("serve: {line}");
            }
        }
    });
    Serving { child, url }
}

/// The taxi example's input for data triggers: `dir/trips/span-{SPAN}/*.csv`, with span 1 the
/// real trips.
pub fn taxi_trips(dir: &Path) -> String {
    copy_span(dir, 1, &std::fs::read_to_string(taxi_data()).unwrap());
    dir.join("trips/span-{SPAN}/*.csv").display().to_string()
}

/// The real taxi trips the example ships.
pub fn taxi_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/chicago_taxi/data.csv")
}

/// Copies `text` in as span `span` the way a careful producer does: written under a hidden
/// name, then renamed into place.
pub fn copy_span(dir: &Path, span: u32, text: &str) {
    let trips = dir.join("trips");
    let staging = trips.join(format!(".span-{span}.part"));
    std::fs::create_dir_all(&staging).unwrap();
    std::fs::write(staging.join("data.csv"), text).unwrap();
    std::fs::rename(&staging, trips.join(format!("span-{span}"))).unwrap();
}

/// A reply: status and body.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    /// The value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// One HTTP/1.1 request to `url` (`http://host:port/path`), with a JSON or form body.
pub fn http(method: &str, url: &str, body: Option<(&str, &str)>) -> Reply {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut stream = TcpStream::connect(host).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    if let Some((kind, text)) = body {
        request.push_str(&format!(
            "Content-Type: {kind}\r\nContent-Length: {}\r\n",
            text.len()
        ));
    } else if method == "POST" {
        request.push_str("Content-Length: 0\r\n");
    }
    request.push_str("\r\n");
    if let Some((_, text)) = body {
        request.push_str(text);
    }
    stream.write_all(request.as_bytes()).unwrap();
    // Read the head, then exactly the body it announces: a server may keep the connection
    // open whatever the request said.
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("{method} {url}: no status in `{status_line}`"));
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
            break;
        }
        if let Some((key, value)) = line.split_once(':') {
            headers.push((key.trim().to_owned(), value.trim().to_owned()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.clone())
    };
    let body = if let Some(length) = header("content-length") {
        let mut body = vec![0; length.parse().unwrap()];
        reader.read_exact(&mut body).unwrap();
        body
    } else if header("transfer-encoding").is_some_and(|value| value.contains("chunked")) {
        let mut body = Vec::new();
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).unwrap();
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).unwrap();
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
        body
    } else {
        let mut body = Vec::new();
        reader.read_to_end(&mut body).unwrap();
        body
    };
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// A GET of a page; panics unless 200.
pub fn page(base: &str, path: &str) -> String {
    let reply = http("GET", &format!("{base}{path}"), None);
    assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    reply.body
}

/// The rows of the runs page: (run id, the row's markup).
pub fn run_rows(page: &str) -> Vec<(String, String)> {
    page.split("<tr data-run=\"")
        .skip(1)
        .map(|row| {
            let id = row[..row.find('"').unwrap()].to_owned();
            let row = row[..row.find("</tr>").unwrap_or(row.len())].to_owned();
            (id, row)
        })
        .collect()
}

/// A webhook receiver on 127.0.0.1: every POST body it got.
pub struct Webhook {
    /// Its URL.
    pub url: String,
    received: Arc<Mutex<Vec<String>>>,
}

impl Webhook {
    /// Listens on a free port.
    pub fn start() -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let bodies = Arc::clone(&received);
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let mut reader = BufReader::new(stream);
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((key, value)) = line.split_once(':')
                        && key.eq_ignore_ascii_case("content-length")
                    {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                bodies
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&body).into_owned());
                let mut stream = reader.into_inner();
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        Webhook { url, received }
    }

    /// What it received so far, as JSON.
    pub fn received(&self) -> Vec<serde_json::Value> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .filter_map(|body| serde_json::from_str(body).ok())
            .collect()
    }
}

/// Polls `check` until it gives a value (a liveness guard ends a hung wait, not a timing
/// assertion).
pub fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    for _ in 0..1800 {
        if let Some(value) = check() {
            return value;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("gave up waiting: {what}");
}
