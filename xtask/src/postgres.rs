//! A throwaway PostgreSQL server for the suites that need one.
//!
//! [`Server::start`] makes a fresh cluster in a temporary directory (`initdb -A trust -U
//! postgres`), creates the database `millrace_test` in it, and starts the server on a free port
//! of 127.0.0.1 (`pg_ctl -w`). Dropping the [`Server`] stops it (`pg_ctl stop -m fast`) and
//! deletes the directory, whether the tests passed or not. PostgreSQL refuses to run as root,
//! so as root every PostgreSQL program runs as the `postgres` OS user through
//! `runuser -u postgres --`; as anyone else they run directly.
//!
//! A run killed before the drop (Ctrl-C) leaves its server behind; the next start finds such
//! leftovers by the owner pid recorded in their directory, stops them and deletes them.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::host;
use crate::process::{capture, capture_with_input};

/// The environment variable that hands the server's URL to the tests.
pub const URL_VAR: &str = "MILLRACE_TEST_POSTGRES_URL";

/// The database created for the tests (they make their own schemas or databases inside).
pub const DATABASE: &str = "millrace_test";

/// The programs needed to run a server.
const PROGRAMS: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

/// Where Debian and Ubuntu keep the programs of each installed major version.
const DEBIAN_ROOT: &str = "/usr/lib/postgresql";

/// The start of the name of each server's temporary directory.
const DIR_PREFIX: &str = "millrace-postgres-";

/// The file in that directory that records the pid of the xtask that owns it.
const OWNER_FILE: &str = "owner.pid";

/// How many free ports to try before giving up (another program may take the port between
/// finding it free and the server binding it).
const START_ATTEMPTS: u32 = 3;

/// A running throwaway server; dropping it stops the server and deletes its files.
#[derive(Debug)]
pub struct Server {
    /// Programs for its directory and user.
    tools: Tools,
    /// The port it listens on, on 127.0.0.1.
    port: u16,
    /// The server's version, e.g. `15.18`.
    version: String,
}

/// How to run the PostgreSQL programs for one temporary directory.
#[derive(Debug)]
struct Tools {
    /// The directory holding `initdb`, `pg_ctl` and `postgres`.
    bin: PathBuf,
    /// The temporary directory: the cluster in `data/`, the Unix socket, the server log.
    base: PathBuf,
    /// Whether to run them as the `postgres` OS user (because we are root).
    as_postgres_user: bool,
}

impl Server {
    /// Installs PostgreSQL if needed, then makes, fills and starts a fresh server.
    pub fn start() -> Result<Server, String> {
        let bin = ensure_programs()?;
        let as_postgres_user = host::is_root();
        if as_postgres_user && host::find_in_path("runuser").is_none() {
            return Err(
                "running as root, and PostgreSQL refuses to: `runuser` (util-linux) is \
                        needed to run it as the `postgres` user"
                    .to_owned(),
            );
        }
        reap_leftovers(&bin, as_postgres_user);
        let base = make_base_dir()?;
        // From here on, dropping `server` (say, on an error) stops it and deletes `base`.
        let mut server = Server {
            tools: Tools {
                bin,
                base,
                as_postgres_user,
            },
            port: 0,
            version: String::new(),
        };
        server.tools.prepare()?;
        server.version = server.tools.version()?;
        server.port = server.tools.launch()?;
        Ok(server)
    }

    /// The URL of the test database, `postgres://postgres@127.0.0.1:<port>/millrace_test`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{DATABASE}", self.port)
    }

    /// The server's version, e.g. `15.18`.
    pub fn version(&self) -> &str {
        &self.version
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.tools.stop_and_remove();
    }
}

impl Tools {
    /// The cluster's data directory.
    fn data(&self) -> PathBuf {
        self.base.join("data")
    }

    /// A command running PostgreSQL's `program` as the right user, inside the base directory.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres_user {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        };
        // The caller's directory (say /root) may be closed to the postgres user.
        command.current_dir(&self.base);
        command
    }

    /// Hands the directory to the right user, makes the cluster and the test database.
    fn prepare(&self) -> Result<(), String> {
        if self.as_postgres_user {
            capture(
                Command::new("chown")
                    .arg("-R")
                    .arg("postgres:")
                    .arg(&self.base),
            )
            .map_err(|error| {
                format!(
                    "cannot give {} to the `postgres` OS user, which PostgreSQL runs as \
                         (installing the postgresql package creates it): {error}",
                    self.base.display()
                )
            })?;
        }
        set_private(&self.base)?;
        capture(self.command("initdb").arg("-D").arg(self.data()).args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]))
        .map_err(|error| format!("initdb failed: {error}"))?;
        // Single-user mode creates the database with the server program alone, before the
        // server starts; it needs no client program (createdb, psql) on PATH.
        capture_with_input(
            self.command("postgres")
                .args(["--single", "-F", "-c", "exit_on_error=on", "-D"])
                .arg(self.data())
                .arg("postgres"),
            &format!("CREATE DATABASE {DATABASE};\n"),
        )
        .map_err(|error| format!("cannot create the database {DATABASE}: {error}"))?;
        Ok(())
    }

    /// The server's version, e.g. `15.18`, from `postgres --version`.
    fn version(&self) -> Result<String, String> {
        let printed = capture(self.command("postgres").arg("--version"))?;
        // "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
        Ok(printed
            .split_whitespace()
            .nth(2)
            .unwrap_or(printed.trim())
            .to_owned())
    }

    /// Starts the server on a free port (a few tries); returns the port.
    fn launch(&self) -> Result<u16, String> {
        let log = self.base.join("postgres.log");
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let port = free_port()?;
            let options = format!(
                "-k {} -h 127.0.0.1 -p {port} -F",
                shell_quote(&self.base.to_string_lossy())
            );
            let started = capture(
                self.command("pg_ctl")
                    .arg("-D")
                    .arg(self.data())
                    .args(["-w", "-t", "60", "-l"])
                    .arg(&log)
                    .arg("-o")
                    .arg(options)
                    .arg("start"),
            );
            match started {
                Ok(_) => {
                    eprintln!(
                        "xtask: started a throwaway PostgreSQL on 127.0.0.1:{port} (files in {})",
                        self.base.display()
                    );
                    return Ok(port);
                }
                Err(error) => failures.push(format!("port {port}: {error}")),
            }
        }
        let log_text = std::fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = log_text.lines().rev().take(20).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        Err(format!(
            "the PostgreSQL server did not start:\n{}\nend of its log:\n{}",
            failures.join("\n"),
            tail.join("\n")
        ))
    }

    /// Stops the server if it runs, then deletes the directory; says so, never fails.
    fn stop_and_remove(&self) {
        if self.data().join("postmaster.pid").exists() {
            let stopped = capture(
                self.command("pg_ctl")
                    .arg("-D")
                    .arg(self.data())
                    .args(["-m", "fast", "-w", "-t", "60", "stop"]),
            );
            if let Err(error) = stopped {
                eprintln!("xtask: warning: cannot stop the throwaway PostgreSQL: {error}");
            } else {
                eprintln!("xtask: stopped the throwaway PostgreSQL");
            }
        }
        if let Err(error) = std::fs::remove_dir_all(&self.base) {
            eprintln!(
                "xtask: warning: cannot remove {}: {error}",
                self.base.display()
            );
        } else {
            eprintln!("xtask: removed {}", self.base.display());
        }
    }
}

/// The directory holding `initdb`, `pg_ctl` and `postgres`, installing them when missing.
fn ensure_programs() -> Result<PathBuf, String> {
    if let Some(bin) = find_programs() {
        return Ok(bin);
    }
    host::apt_install(
        &["postgresql"],
        &format!(
            "the PostgreSQL server programs ({}) are in neither PATH nor {DEBIAN_ROOT}/*/bin",
            PROGRAMS.join(", ")
        ),
    )
    .map_err(|error| format!("{error} (or pass --no-postgres to skip the PostgreSQL suites)"))?;
    find_programs().ok_or_else(|| {
        format!(
            "the postgresql package is installed, yet {} are in neither PATH nor {DEBIAN_ROOT}/*/bin",
            PROGRAMS.join(", ")
        )
    })
}

/// The first directory of PATH, then of `/usr/lib/postgresql/*/bin` (newest version first),
/// that holds all of `initdb`, `pg_ctl` and `postgres`.
fn find_programs() -> Option<PathBuf> {
    let mut debian: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir(DEBIAN_ROOT)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let version = name.split('.').filter_map(|n| n.parse().ok()).collect();
                    (version, entry.path().join("bin"))
                })
                .collect()
        })
        .unwrap_or_default();
    debian.sort_by(|a, b| b.0.cmp(&a.0));
    host::path_dirs()
        .into_iter()
        .chain(debian.into_iter().map(|(_, bin)| bin))
        .find(|dir| {
            PROGRAMS
                .iter()
                .all(|program| host::is_executable(&dir.join(program)))
        })
}

/// Makes a new, empty temporary directory for one server and records this process as owner.
fn make_base_dir() -> Result<PathBuf, String> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|since| since.subsec_nanos())
        .unwrap_or_default();
    let base = std::env::temp_dir().join(format!("{DIR_PREFIX}{}-{nanos}", std::process::id()));
    std::fs::create_dir(&base)
        .map_err(|error| format!("cannot create {}: {error}", base.display()))?;
    let owner = base.join(OWNER_FILE);
    if let Err(error) = std::fs::write(&owner, format!("{}\n", std::process::id())) {
        let _ = std::fs::remove_dir_all(&base);
        return Err(format!("cannot write {}: {error}", owner.display()));
    }
    Ok(base)
}

/// Stops and deletes the servers of earlier runs whose xtask is gone (killed before its drop).
fn reap_leftovers(bin: &Path, as_postgres_user: bool) {
    if !Path::new("/proc/self").exists() {
        return; // Cannot tell live owners from dead ones.
    }
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        if !entry.file_name().to_string_lossy().starts_with(DIR_PREFIX) {
            continue;
        }
        let base = entry.path();
        let Ok(owner) = std::fs::read_to_string(base.join(OWNER_FILE)) else {
            continue;
        };
        let Ok(pid) = owner.trim().parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        eprintln!(
            "xtask: {} was left behind by an interrupted run (pid {pid}); cleaning it up",
            base.display()
        );
        Tools {
            bin: bin.to_owned(),
            base,
            as_postgres_user,
        }
        .stop_and_remove();
    }
}

/// Restricts `dir` to its owner (the server's socket lives there).
fn set_private(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(|error| format!("cannot restrict {}: {error}", dir.display()))
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> Result<u16, String> {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|error| format!("cannot find a free port on 127.0.0.1: {error}"))
}

/// `text` quoted for a POSIX shell (`pg_ctl -o` passes its options through `/bin/sh`).
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quote_survives_quotes_and_spaces() {
        assert_eq!(shell_quote("/tmp/a b"), "'/tmp/a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn free_port_is_not_zero() {
        assert_ne!(free_port().unwrap(), 0);
    }

    #[test]
    fn the_url_names_the_test_database() {
        let server = std::mem::ManuallyDrop::new(Server {
            tools: Tools {
                bin: PathBuf::new(),
                base: PathBuf::from("/nonexistent"),
                as_postgres_user: false,
            },
            port: 5433,
            version: "15.18".to_owned(),
        });
        assert_eq!(
            server.url(),
            "postgres://postgres@127.0.0.1:5433/millrace_test"
        );
        assert_eq!(server.version(), "15.18");
    }
}
