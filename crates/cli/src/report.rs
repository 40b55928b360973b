//! Turning a command's error into what the user sees and the exit status.

use std::{io::Write, process::ExitCode};

/// Prints `error: <message>` to stderr (unless the error is a closed stdout, which ends a
/// command quietly) and returns the exit status.
pub(crate) fn exit_code(error: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(error) {
        return ExitCode::SUCCESS;
    }
    // Writing to stderr can fail too (it may be closed); there is nothing left to tell then.
    let _ = writeln!(std::io::stderr().lock(), "error: {}", message(error));
    ExitCode::FAILURE
}

/// Whether the error comes from writing to a reader that went away (`eddy ... | head`).
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes joined with ": ", skipping a cause whose text its parent
/// already includes (some errors print their source as part of their own message). The
/// process serving a data directory words its errors the same way.
pub(crate) fn message(error: &anyhow::Error) -> String {
    eddy_server::local::error_message(&**error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_already_in_the_message_are_not_repeated() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let error = anyhow::Error::new(eddy_log::Error::Io { path: "/x/log".into(), source: io })
            .context("cannot use data directory '/x'");
        assert_eq!(message(&error), "cannot use data directory '/x': /x/log: gone");
    }

    #[test]
    fn a_broken_pipe_anywhere_in_the_chain_is_recognized() {
        let io = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        let error = anyhow::Error::new(io).context("writing records");
        assert!(is_broken_pipe(&error));
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
    }
}
