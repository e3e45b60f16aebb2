//! The browser the web UI's browser suite drives: Debian's `chromium` and `chromium-driver`
//! (installed with apt when missing, as root; nothing is downloaded from elsewhere).

use std::path::{Path, PathBuf};

use crate::host;

/// The variable naming the WebDriver server the suite starts.
pub const DRIVER_VAR: &str = "MILLRACE_CHROMEDRIVER";
/// The variable naming the browser binary the driver launches.
pub const BROWSER_VAR: &str = "MILLRACE_CHROMIUM";

const DRIVER: &str = "/usr/bin/chromedriver";
/// The browser itself (`/usr/bin/chromium` is a shell wrapper around it).
const BROWSER: &str = "/usr/lib/chromium/chromium";

/// The driver and the browser, installed first if either is missing.
pub fn ensure() -> Result<(PathBuf, PathBuf), String> {
    if !Path::new(DRIVER).exists() || !Path::new(BROWSER).exists() {
        host::apt_install(
            &["chromium", "chromium-driver"],
            "the web UI's browser suite needs Debian's chromium and chromium-driver",
        )?;
    }
    for path in [DRIVER, BROWSER] {
        if !Path::new(path).exists() {
            return Err(format!(
                "{path} is still missing after installing chromium and chromium-driver"
            ));
        }
    }
    Ok((PathBuf::from(DRIVER), PathBuf::from(BROWSER)))
}
