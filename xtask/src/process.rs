//! Running other programs: say what runs, and turn every failure into a message.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

/// A `cargo` command: the cargo that runs this xtask (`$CARGO`) when there is one.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Runs `command` on the terminal (inherited standard streams); an error unless it succeeds.
pub fn run(command: &mut Command) -> Result<(), String> {
    eprintln!("xtask: running {command:?}");
    let status = command
        .status()
        .map_err(|error| format!("cannot start {command:?}: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed with {status}"))
    }
}

/// Runs `command` quietly and returns what it printed on standard output.
///
/// On failure the message holds everything it printed, so the cause is never lost.
pub fn capture(command: &mut Command) -> Result<String, String> {
    capture_with_input(command, "")
}

/// Runs `command` quietly with `input` on its standard input; returns its standard output.
pub fn capture_with_input(command: &mut Command, input: &str) -> Result<String, String> {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot start {command:?}: {error}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .map_err(|error| format!("cannot write to {command:?}: {error}"))?;
    }
    let output = child
        .wait_with_output()
        .map_err(|error| format!("cannot wait for {command:?}: {error}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "{command:?} failed with {}{}",
            output.status,
            printed(&output)
        ))
    }
}

/// What a finished program printed, indented under a heading, or nothing when it was silent.
fn printed(output: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = text.trim();
    if text.is_empty() {
        String::new()
    } else {
        let indented: Vec<String> = text.lines().map(|line| format!("    {line}")).collect();
        format!("; it printed:\n{}", indented.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_returns_standard_output() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo hello; echo noise >&2"]);
        assert_eq!(capture(&mut command), Ok("hello\n".to_owned()));
    }

    #[test]
    fn capture_feeds_standard_input() {
        let mut command = Command::new("cat");
        assert_eq!(
            capture_with_input(&mut command, "fed\n"),
            Ok("fed\n".to_owned())
        );
    }

    #[test]
    fn a_failure_carries_what_the_program_printed() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo why it broke >&2; exit 3"]);
        let message = capture(&mut command).err().unwrap_or_default();
        assert!(message.contains("why it broke"), "{message}");
    }

    #[test]
    fn a_missing_program_is_an_error_not_a_panic() {
        let mut command = Command::new("/nonexistent/program-xyz");
        assert!(capture(&mut command).is_err());
        assert!(run(&mut command).is_err());
    }
}
