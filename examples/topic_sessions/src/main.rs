//! The app's binary: the `host` command line (`start`, `validate`, `send`…) for the
//! functions of this crate's library.

fn main() -> std::process::ExitCode {
    topic_sessions::host().main()
}
