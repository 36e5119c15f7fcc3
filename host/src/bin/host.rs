//! The `host` binary with no functions of its own: `host validate`, `host functions`, and
//! (later) `host emulator`. Function apps link `berth-host` and call `berth_host::main()`.

fn main() -> std::process::ExitCode {
    berth_host::main()
}
