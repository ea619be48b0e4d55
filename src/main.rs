use std::process::ExitCode;

fn main() -> ExitCode {
    helpdesk_slo::cli::main()
}
