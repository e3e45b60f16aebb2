//! A WebDriver client for the browser tests: Debian's `chromedriver` driving headless
//! Chromium (the system's packages; nothing is downloaded), spoken to over plain HTTP with the
//! W3C protocol — navigate, find, click, type, run a script, take a screenshot.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use super::{http, wait_for};

/// The key under which W3C WebDriver returns an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Where the browser and its driver are, or why the browser tests cannot run.
pub fn browser() -> Result<(PathBuf, PathBuf), String> {
    let driver = std::env::var_os("MILLRACE_CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"));
    let chromium = std::env::var_os("MILLRACE_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/chromium/chromium"));
    for (path, package) in [(&driver, "chromium-driver"), (&chromium, "chromium")] {
        if !path.exists() {
            return Err(format!(
                "{} is missing: install Debian's `{package}` (`cargo xtask test` and .ci/run do)",
                path.display()
            ));
        }
    }
    Ok((driver, chromium))
}

/// A browser session; the driver (and the browser) are stopped when it is dropped.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Not the session's DELETE: a panic here would abort the test run. Killing the driver
        // ends the browser it started.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// An element of the page.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Browser {
    /// Starts the driver and a headless browser with a 1400×1000 window.
    pub fn start(driver: &Path, chromium: &Path) -> Browser {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        wait_for("chromedriver to listen", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1400,1000",
                         "--hide-scrollbars"],
            },
        }}});
        let mut browser = Browser {
            driver: child,
            base,
            session: String::new(),
        };
        let reply = browser.call("POST", "/session", Some(capabilities));
        browser.session = reply["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {reply}"))
            .to_owned();
        browser
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let text = body.map(|body| body.to_string());
        let reply = http(
            method,
            &format!("{}{path}", self.base),
            text.as_deref().map(|text| ("application/json", text)),
        );
        let value: Value = serde_json::from_str(&reply.body)
            .unwrap_or_else(|_| panic!("{method} {path}: {}", reply.body));
        assert_eq!(reply.status, 200, "{method} {path}: {value}");
        value
    }

    fn session_call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.call(
            method,
            &format!("/session/{}{path}", self.session),
            body.or_else(|| (method == "POST").then(|| json!({}))),
        )["value"]
            .clone()
    }

    /// Opens `url`.
    pub fn open(&self, url: &str) {
        self.session_call("POST", "/url", Some(json!({ "url": url })));
    }

    /// The page's URL.
    pub fn url(&self) -> String {
        self.session_call("GET", "/url", None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The page's title.
    pub fn title(&self) -> String {
        self.session_call("GET", "/title", None)
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The first element `css` selects, once there is one.
    pub fn find(&self, css: &str) -> Element {
        wait_for(&format!("an element `{css}`"), || self.try_find(css))
    }

    /// The first element `css` selects now, if any.
    pub fn try_find(&self, css: &str) -> Option<Element> {
        let reply = http(
            "POST",
            &format!("{}/session/{}/element", self.base, self.session),
            Some((
                "application/json",
                &json!({"using": "css selector", "value": css}).to_string(),
            )),
        );
        if reply.status != 200 {
            return None;
        }
        let value: Value = serde_json::from_str(&reply.body).ok()?;
        value["value"][ELEMENT]
            .as_str()
            .map(|id| Element(id.to_owned()))
    }

    /// Clicks `element`.
    pub fn click(&self, element: &Element) {
        self.session_call("POST", &format!("/element/{}/click", element.0), None);
    }

    /// Types `text` into `element`.
    pub fn type_into(&self, element: &Element, text: &str) {
        self.session_call(
            "POST",
            &format!("/element/{}/value", element.0),
            Some(json!({ "text": text })),
        );
    }

    /// Runs `script` in the page (`return …` gives a value).
    pub fn script(&self, script: &str) -> Value {
        self.session_call(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    /// Enters the frame `element` (an iframe), or back to the page with `None`.
    pub fn frame(&self, element: Option<&Element>) {
        let id = match element {
            Some(element) => json!({ ELEMENT: element.0 }),
            None => Value::Null,
        };
        self.session_call("POST", "/frame", Some(json!({ "id": id })));
    }

    /// A screenshot of the window, as PNG, written to `path`.
    pub fn screenshot(&self, path: &Path) {
        let encoded = self.session_call("GET", "/screenshot", None);
        let png = decode_base64(encoded.as_str().unwrap());
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// Waits until `script` returns `true` (a liveness guard, not a timing assertion).
    pub fn wait_until(&self, what: &str, script: &str) {
        wait_for(what, || {
            (self.script(script) == Value::Bool(true)).then_some(())
        });
    }

    /// Sleeps a little (for the page's own script to react).
    pub fn pause(&self) {
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Standard base64 (what WebDriver's screenshots are) to bytes.
fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let digits: Vec<u32> = text.bytes().filter_map(value).collect();
    let mut bytes = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let mut joined = 0u32;
        for (index, digit) in chunk.iter().enumerate() {
            joined |= digit << (18 - 6 * index);
        }
        let count = chunk.len() * 6 / 8;
        for index in 0..count {
            bytes.push((joined >> (16 - 8 * index)) as u8);
        }
    }
    bytes
}
