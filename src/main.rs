//! The `ttymix` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    ttymix::cli::main()
}
